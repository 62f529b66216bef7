"""The peer of `streamproof decode` in `cargo xtask bench`: the loop people write to read Firehose
S3 backups, whose records are concatenated JSON with no delimiter. Prints the number of records.

usage: python3 raw_decode.py <file or directory>   (gzip files are read through gzip)
"""
import gzip
import json
import os
import re
import sys

NOT_WHITESPACE = re.compile(r"\S")


def decode_stacked(document, pos=0, decoder=json.JSONDecoder()):
    while True:
        match = NOT_WHITESPACE.search(document, pos)
        if not match:
            return
        pos = match.start()
        obj, pos = decoder.raw_decode(document, pos)
        yield obj


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8")


def files(path):
    if os.path.isfile(path):
        return [path]
    found = []
    for root, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(os.path.join(root, n) for n in names if not n.startswith("."))
    return sorted(found)


count = 0
for name in files(sys.argv[1]):
    for record in decode_stacked(read(name)):
        count += 1
print(count)
