"""The one receiving path for every provider: ``/hooks/{provider}/{token}``.

Verify over the raw bytes, store once in ``webhook_inbox``, answer 2xx only
after the commit, process in a job (design.md §8).
"""
