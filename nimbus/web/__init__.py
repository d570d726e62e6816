"""HTTP endpoints in front of functions — function URLs and API Gateway-style HTTP APIs: the
events they build, the responses they map back, CORS and host routing. Pure: the ASGI shell
is ``frontend.http_endpoints``."""
