"""``pomar serve``: the farm's front door — an HTTP API with tokens and a web dashboard.

Submitters talk HTTP with a token; only this server (and the coordinator and agents) hold the
broker's and the store's credentials.

Why FastAPI on uvicorn: the API is described by the pydantic models Pomar already has, and
FastAPI turns exactly those into request validation (a 422 naming the field) and an OpenAPI
schema without a second description to keep in step; it is well kept, typed, and its
dependency injection carries auth scopes cleanly. Routes that touch the store are plain
functions run on the thread pool (SQLAlchemy is synchronous); uploads stream asynchronously.
Jinja2 renders the dashboard's pages on the server: no JavaScript build, nothing fetched at
install time.

Modules: ``app`` (the ASGI app), ``api`` (routes), ``service`` (what they do), ``auth`` and
``tokens`` (scoped, hashed tokens), ``submissions`` and ``prepare`` (jobs on their way in),
``uploads`` (size limit, sha256, archive and ``.npz`` checks), ``events`` (server-sent events),
``dashboard`` (pages), ``errors`` and ``handlers`` (Pomar errors as status codes), ``serve``
(the process). Importing this package imports nothing: ``pomar token`` needs no FastAPI.
"""
