"""schemathesis hooks of the OpenAPI fuzz test (test/helpers/schemathesis.ts loads them).

tus sends its bytes as application/offset+octet-stream: bytes, serialised like application/octet-stream.
"""

import schemathesis

schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
