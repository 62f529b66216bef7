"""A Firehose transformation Lambda that drops and fails records on purpose, by their seq.

It reads each record's streamproof envelope (`_streamproof.seq`) so the outcome of every record is
deterministic: every hundredth record (seq 99, 199, ...) is returned as ProcessingFailed, every
other tenth record (seq 9, 19, ...) as Dropped, and the rest as Ok with a newline appended. With
1,000 records that is 900 delivered, 90 dropped and 10 in the error output.
"""

import base64
import json


def lambda_handler(event, context):
    records = []
    for record in event["records"]:
        data = base64.b64decode(record["data"])
        seq = json.loads(data)["_streamproof"]["seq"]
        if seq % 100 == 99:
            records.append({"recordId": record["recordId"], "result": "ProcessingFailed", "data": record["data"]})
        elif seq % 10 == 9:
            records.append({"recordId": record["recordId"], "result": "Dropped"})
        else:
            records.append(
                {
                    "recordId": record["recordId"],
                    "result": "Ok",
                    "data": base64.b64encode(data + b"\n").decode("ascii"),
                }
            )
    return {"records": records}
