"""schemathesis hooks of the OpenAPI fuzz test (test/helpers/schemathesis.ts loads them).

tus sends its bytes as application/offset+octet-stream: bytes, serialised like application/octet-stream.

The fuzzer does not name the resumable-upload draft's interop version. Naming it asks the api for a
`104 (Upload Resumption Supported)` interim answer, and schemathesis's HTTP client (Python's
http.client, under requests) takes any 1xx but 100 for the final answer: it then reads the real answer
as the answer to its next request, and reports that one wrong (a 201 from GET /healthz). RFC 9110
section 15.2 says a client must parse 1xx answers it did not expect; this one does not, so it does not
claim to speak the draft. The 104 itself is tested with Node's client in resumable-uploads-ietf.test.ts.
"""

import schemathesis

schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

INTEROP_HEADER = "upload-draft-interop-version"


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.headers:
        for name in [name for name in case.headers if name.lower() == INTEROP_HEADER]:
            del case.headers[name]
