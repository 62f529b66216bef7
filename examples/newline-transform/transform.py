"""A Firehose transformation Lambda that appends a newline to every record.

Firehose writes records to S3 back to back with no delimiter (`{..}{..}`), and Athena or Presto
then reads only the first JSON document of each object. Appending "\n" in a transform turns the
objects into NDJSON. Deploy this as the delivery stream's processor, or let streamproof run it
locally (see the scenario next to it).
"""

import base64


def lambda_handler(event, context):
    records = []
    for record in event["records"]:
        data = base64.b64decode(record["data"])
        if not data.endswith(b"\n"):
            data += b"\n"
        records.append(
            {
                "recordId": record["recordId"],
                "result": "Ok",
                "data": base64.b64encode(data).decode("ascii"),
            }
        )
    return {"records": records}
