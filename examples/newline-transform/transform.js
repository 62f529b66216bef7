// The Node.js twin of transform.py: appends a newline to every record so objects are NDJSON.
exports.handler = async (event) => ({
  records: event.records.map((record) => {
    let data = Buffer.from(record.data, "base64");
    if (data[data.length - 1] !== 0x0a) data = Buffer.concat([data, Buffer.from("\n")]);
    return { recordId: record.recordId, result: "Ok", data: data.toString("base64") };
  }),
});
