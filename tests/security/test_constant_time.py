"""W2's lint rule: no ``==``/``!=`` on a signature, HMAC, digest or secret
anywhere in the code that checks deliveries. Use ``hmac.compare_digest``
(``copcca.security.signatures.constant_time_equal``)."""

from __future__ import annotations

import ast
from pathlib import Path

import copcca

ROOT = Path(copcca.__file__).parent
CHECKED = ("connectors", "webhooks", "security", "sandbox")
WORDS = ("signature", "hmac", "digest", "secret", "verify_token", "callback_token")


def _names(node: ast.AST) -> list[str]:
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            found.append(sub.id)
        elif isinstance(sub, ast.Attribute):
            found.append(sub.attr)
    return found


def suspicious_comparisons(source: str) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
            continue
        operands = [node.left, *node.comparators]
        if any(isinstance(o, ast.Constant) and o.value is None for o in operands):
            continue
        names = [n.lower() for o in operands for n in _names(o)]
        if any(word in name for name in names for word in WORDS):
            lines.append(node.lineno)
    return lines


def test_the_rule_catches_a_plain_comparison() -> None:
    assert suspicious_comparisons("ok = given_signature == expected") == [1]
    assert suspicious_comparisons("ok = constant_time_equal(sig, expected)") == []


def test_no_signature_is_compared_with_equals() -> None:
    offenders = []
    for package in CHECKED:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line in suspicious_comparisons(path.read_text()):
                offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert offenders == []
