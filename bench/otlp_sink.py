"""An OTLP/HTTP receiver that accepts span batches and drops them: the exporter's real work (encoding,
a POST per batch) without a collector's cost on this machine."""

import sys

from aiohttp import web


async def traces(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=b"", content_type="application/x-protobuf")


app = web.Application(client_max_size=64 * 1024 * 1024)
app.router.add_post("/v1/traces", traces)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
