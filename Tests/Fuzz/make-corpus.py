#!/usr/bin/env python3
"""Writes the seed corpora under Tests/Fuzz/Corpus from the repository's own files and a few
hand-made inputs. Run it from anywhere; it rewrites the generated seeds and leaves any other
file (findings kept as regression seeds, key files written by the store) alone.

Protocol frames are encoded here by hand from Schemas/proto/sovereign/v1/sovereign.proto (a
protobuf encoder is not needed for a handful of fields); the FuzzWireFrames target checks that
every one of them round-trips through WireCodec.
"""
import base64
import hashlib
import json
import os
import shutil

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(ROOT, "Tests", "Fuzz", "Corpus")


def write(target, name, data):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


# -- protobuf wire format ---------------------------------------------------------------------

def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(number, value):
    if isinstance(value, bool):
        return varint(number << 3) + varint(int(value))
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint(number << 3 | 2) + varint(len(value)) + value


def message(*fields):
    return b"".join(field(n, v) for n, v in fields)


def envelope(type_, request_id, payload):
    return message((1, type_), (2, request_id), (3, payload))


receive = message((1, "01HZX3K9Q8W7E6R5T4Y3U2I1O0"), (2, "conv-1"), (3, "peer-1"), (4, b"\x00\x01ciphertext"),
                  (5, 1_717_000_000_000_000), (6, "text"), (7, "c-1"), (8, 42))

wire = {
    "auth-challenge": envelope(2, "r1", message((1, b"\x01" * 32), (2, b'{"challenge":"x"}'))),
    "auth-success": envelope(4, "r2", message((1, "token"), (2, "u1"), (3, "me"), (4, "Me"))),
    "auth-error": envelope(5, "r3", message((1, 9001), (2, "try again"))),
    "register-challenge": envelope(7, "r4", message((1, b"\x02" * 16), (2, b"{}"))),
    "register-success": envelope(9, "r5", message((1, "u1"), (2, "token"))),
    "history-response": envelope(11, "r6", message((1, receive), (1, receive), (2, True))),
    "message-receive": envelope(21, "", receive),
    "message-delivered": envelope(23, "r7", message((1, "01HZX3K9Q8W7E6R5T4Y3U2I1O0"), (2, "u2"))),
    "group-created": envelope(31, "r8", message((1, "conv-1"), (2, "Team"),
                                                (3, message((1, "u1"), (2, "me"), (3, "Me"), (4, "admin"))))),
    "member-added": envelope(33, "", message((1, "conv-1"), (2, "u3"), (3, "u1"))),
    "member-removed": envelope(34, "", message((1, "conv-1"), (2, "u3"), (3, "u1"))),
    "key-package-response": envelope(42, "r9", message((1, "u2"), (2, b"\x03" * 24))),
    "welcome-receive": envelope(44, "", message((1, "conv-1"), (2, "u2"), (3, b"welcome"))),
    "commit-broadcast": envelope(46, "", message((1, "conv-1"), (2, "u2"), (3, b"commit"))),
    "presence-notify": envelope(51, "", message((1, "u2"), (2, "online"))),
    "pong": envelope(61, "p1", message((1, 1_717_000_000_000_000))),
    "error": envelope(62, "r10", message((1, 429), (2, "rate limited"), (3, False))),
    # Client frames (the simulated servers decode these).
    "auth-request": envelope(1, "c1", message((1, "me"))),
    "history-request": envelope(10, "c2", message((1, 0), (2, ""), (3, 100), (4, "conv-1"), (5, 7))),
    "message-send": envelope(20, "c3", message((1, "conv-1"), (2, b"ciphertext"), (3, "text"), (4, "c-1"))),
    "message-ack": envelope(22, "c4", message((1, "01HZX3K9Q8W7E6R5T4Y3U2I1O0"))),
    "group-create": envelope(30, "c5", message((1, "Team"), (2, "u2"), (2, "u3"))),
    "ping": envelope(60, "c6", message((1, 1_717_000_000_000_000))),
    # What the salvage path is for: a receive whose sender id is not UTF-8, and a history page
    # with one such message among good ones.
    "salvage-receive": envelope(21, "", message((1, "01HZX3K9Q8W7E6R5T4Y3U2I1O0"), (3, b"\xff\xfe"), (5, 5), (8, 9))),
    "salvage-history": envelope(11, "r11", message((1, receive), (1, message((1, "bad"), (2, b"\xc3\x28"), (8, 3))), (2, True))),
    "unknown-type": envelope(99, "", b""),
    "empty": b"",
}
for name, data in wire.items():
    write("FuzzWireFrames", name, data)

# -- JSON, schemas, scenarios -----------------------------------------------------------------

schemas = sorted(f for f in os.listdir(os.path.join(ROOT, "Schemas", "json")) if f.endswith(".json"))
scenarios = sorted(f for f in os.listdir(os.path.join(ROOT, "Simulator", "Scenarios")) if f.endswith(".json"))


def copy(target, source, name=None):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    shutil.copyfile(source, os.path.join(directory, name or os.path.basename(source)))


json_samples = {
    "literals": "[null, true, false, 0, -0, 1.5e-3, 1E+300, \"\"]",
    "escapes": "{\"a\\\"b\": \"\\u00e9\\ud83d\\ude00\\n\\t\\/\", \"k\": [\"\\u0000\"]}",
    "nested": "[[[[[[[[{\"x\": [[[]]]}]]]]]]]]",
    "bom": "\ufeff{\"bom\": 1}",
    "utf8": "{\"caf\u00e9\": \"\u65e5\u672c\u8a9e \U0001F600\"}",
    "numbers": "[0.1, 123456789012345678901234567890, 1e16, -1e-320, 9007199254740993]",
    "whitespace": " \r\n\t{ \"a\" : [ 1 , 2 ] }\r\n",
}
discovery_samples = {
    "discovery-full": {"name": "Example", "version": "1.2.0", "websocket_url": "wss://chat.example.org/ws",
                       "registration": "invite", "icon_url": "https://chat.example.org/icon.png",
                       "capabilities": ["mls", "passkey", "idempotent-send", "history", "sequence"]},
    "discovery-minimal": {"name": "Local", "version": "0", "websocket_url": "ws://127.0.0.1:8080/ws"},
    "discovery-ipv6": {"name": "Six", "version": "1", "websocket_url": "ws://[::1]:9000/socket?x=1"},
    "discovery-insecure": {"name": "Bad", "version": "1", "websocket_url": "ws://chat.example.org/ws"},
}
for name, text in json_samples.items():
    write("FuzzJSON", name + ".json", text)
for name in schemas:
    copy("FuzzJSON", os.path.join(ROOT, "Schemas", "json", name))
    copy("FuzzSchemaText", os.path.join(ROOT, "Schemas", "json", name))
for name in ["commuters-day.json", "poison-messages.json", "storage-failures.json"]:
    copy("FuzzJSON", os.path.join(ROOT, "Simulator", "Scenarios", name))
for name in scenarios:
    copy("FuzzScenario", os.path.join(ROOT, "Simulator", "Scenarios", name))
    copy("FuzzJSONSchema", os.path.join(ROOT, "Simulator", "Scenarios", name))
for name, document in discovery_samples.items():
    text = json.dumps(document, indent=2)
    write("FuzzDiscoveryDocument", name + ".json", text)
    write("FuzzJSONSchema", name + ".json", text)

# Schema text beyond the project's: the keywords the project's schemas do not use.
write("FuzzSchemaText", "keywords.json", json.dumps({
    "$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}},
    "type": ["object", "array", "string", "number"],
    "prefixItems": [{"const": 1}, {"enum": [1, "a", None]}], "items": {"type": "integer", "multipleOf": 0.5},
    "contains": {"minimum": 2}, "minContains": 1, "maxContains": 3, "uniqueItems": True,
    "minLength": 1, "maxLength": 9, "pattern": "^[a-z]+$",
    "exclusiveMinimum": 0, "exclusiveMaximum": 10,
    "patternProperties": {"^x-": True}, "propertyNames": {"maxLength": 8},
    "dependentRequired": {"a": ["b"]}, "minProperties": 1, "maxProperties": 4,
    "additionalProperties": {"$ref": "#/$defs/node"},
    "anyOf": [{"type": "object"}, {"type": "array"}, {"type": "string"}, {"type": "number"}],
    "oneOf": [{"not": {"type": "null"}}, False],
    "if": {"type": "object"}, "then": {"required": ["a"]}, "else": True,
}))
write("FuzzSchemaText", "refs.json", json.dumps({
    "$id": "refs.json", "$ref": "refs.json#/definitions/a",
    "definitions": {"a": {"allOf": [{"$ref": "#/definitions/b"}]}, "b": {"type": "string"}, "c~/d": {"$ref": "#/definitions/c~0~1d/x"}},
}))
write("FuzzSchemaText", "cycle.json", '{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}}')

# Scenarios small enough for FuzzScenario to run the simulation on them (the library's are all
# too large): every kind of fault, a few at a time.
def tiny(name, faults, behaviour="extended", **extra):
    scenario = {
        "name": name, "description": "A scenario small enough to simulate on every fuzz input.", "seed": 7,
        "duration_seconds": 120, "liveness_seconds": 60, "swarm": False,
        "servers": {"count": 2, "behaviour": behaviour, "peers_per_server": 2, "conversations_per_server": 1},
        "network": {"latency_ms": 30, "jitter_ms": 10},
        "workload": {"peer_messages_per_hour": 60, "user_messages_per_hour": 60},
        "client": {"pool_capacity": 2}, "faults": faults,
    }
    scenario.update(extra)
    write("FuzzScenario", name + ".json", json.dumps(scenario, indent=2))


tiny("tiny-network", [{"at_seconds": 10, "kind": "reset"}, {"at_seconds": 20, "kind": "blackhole", "servers": [1], "duration_seconds": 15},
                      {"at_seconds": 40, "kind": "flap", "count": 2, "duration_seconds": 3}, {"at_seconds": 60, "kind": "latency", "amount": 500, "duration_seconds": 10}])
tiny("tiny-process", [{"at_seconds": 5, "kind": "kill", "duration_seconds": 2}, {"at_seconds": 15, "kind": "kill_at_write", "amount": 3},
                      {"at_seconds": 30, "kind": "storage_failure", "amount": 2, "count": 2, "error": "disk_full"},
                      {"at_seconds": 50, "kind": "server_restart", "servers": [0]}], behaviour="legacy")
tiny("tiny-clock", [{"at_seconds": 10, "kind": "clock_step", "amount": -30, "servers": [0]}, {"at_seconds": 20, "kind": "session_expiry", "duration_seconds": 5},
                    {"at_seconds": 30, "kind": "rate_limit", "duration_seconds": 10}, {"at_seconds": 45, "kind": "outage", "duration_seconds": 20}],
     behaviour="upstream")
tiny("tiny-messages", [{"at_seconds": 10, "kind": "burst", "amount": 5}, {"at_seconds": 20, "kind": "poison", "amount": 2},
                       {"at_seconds": 30, "kind": "redeliver", "amount": 2}, {"at_seconds": 40, "kind": "large_posts", "amount": 1},
                       {"at_seconds": 60, "kind": "remove_server", "servers": [1]}, {"at_seconds": 80, "kind": "readd_server", "servers": [1]}],
     workload={"peer_messages_per_hour": 120, "user_messages_per_hour": 60, "other_devices": 1, "other_device_messages_per_hour": 30, "reads_per_hour": 60})

# -- HTTP answers -----------------------------------------------------------------------------

document = json.dumps(discovery_samples["discovery-full"])
key = "dGhlIHNhbXBsZSBub25jZQ=="
accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
assert accept == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def ws_frame(opcode, payload, fin=True):
    head = bytes([(0x80 if fin else 0) | opcode])
    if len(payload) < 126:
        head += bytes([len(payload)])
    elif len(payload) < 65536:
        head += bytes([126]) + len(payload).to_bytes(2, "big")
    else:
        head += bytes([127]) + len(payload).to_bytes(8, "big")
    return head + payload


upgrade = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: sovereign.v1\r\n\r\n").encode()
http = {
    "discovery-200": f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(document)}\r\n\r\n{document}",
    "discovery-200-chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             + f"{len(document[:20]):x}\r\n{document[:20]}\r\n{len(document[20:]):x}\r\n{document[20:]}\r\n0\r\n\r\n",
    "discovery-200-until-close": f"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{document}",
    "discovery-404": "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
    "discovery-410": "HTTP/1.0 410 Gone\r\n\r\n",
    "discovery-503": "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n",
    "discovery-301": "HTTP/1.1 301 Moved Permanently\r\nLocation: https://elsewhere.example/\r\nContent-Length: 0\r\n\r\n",
    "upgrade-101": upgrade,
    "upgrade-101-frames": upgrade + ws_frame(2, wire["message-receive"]) + ws_frame(9, b"ping")
                          + ws_frame(2, wire["history-response"][:10], fin=False) + ws_frame(0, wire["history-response"][10:])
                          + ws_frame(8, b"\x03\xe8bye"),
    "upgrade-101-wrong-protocol": upgrade.replace(b"sovereign.v1", b"chat"),
    "upgrade-200": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno",
    "upgrade-426": "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n",
}
for name, data in http.items():
    write("FuzzHTTPResponses", name, data)
