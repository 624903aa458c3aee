"""The baseline: the same framework (FastAPI) and the same server settings
as ``copcca serve`` (uvicorn, one process, no access log), answering the
C2B confirmation path with Daraja's reply and doing nothing else.

    python -m bench._bare PORT
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/hooks/c2b/{token}/confirmation")
async def confirmation(token: str, request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"ResultCode": 0, "ResultDesc": "Success"})


if __name__ == "__main__":
    uvicorn.run(
        app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info", access_log=False
    )
