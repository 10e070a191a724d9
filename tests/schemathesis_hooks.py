"""schemathesis hooks for tests/admin_schemathesis.rs.

POST /partitions makes the server connect to, or listen on, the `source` it is
given. Fuzzed sources name arbitrary hosts and ports of the machine the suite runs
on, where other tests serve generators (a shared-mode generator hands each line to
one client only) and bind ports. So, just before each request, a `source` that is
valid is pointed at a harmless place of the same kind: `tcp://127.0.0.1:1` (nothing
listens there) or `listen://127.0.0.1:0` (a free port). A valid source stays valid
and an invalid one is left alone, so every check keeps its meaning.
"""

import re

import schemathesis

# The pattern of `source` in /openapi.json (NewPartition).
SOURCE = re.compile(
    r"(tcp|listen)://([A-Za-z0-9._-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]):"
    r"(0|[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
)
HARMLESS = {"tcp": "tcp://127.0.0.1:1", "listen": "listen://127.0.0.1:0"}


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.method.upper() != "POST" or case.operation.path != "/partitions":
        return
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("source"), str):
        match = SOURCE.fullmatch(body["source"])
        if match:
            body["source"] = HARMLESS[match.group(1)]
