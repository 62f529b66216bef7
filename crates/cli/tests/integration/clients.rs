//! Real client tooling against `streamproof env up` on the embedded backend: the AWS CLI's `s3`
//! commands (mv, sync both ways, a multipart cp) and `s3api` calls, the reading script people copy
//! for Firehose backups (ListObjects v1 by hour prefix, then a `raw_decode` loop), and the AWS SDK
//! for JavaScript on its default transport (HTTP/2 for Kinesis, enhanced fan-out included), and a
//! boto3 script that reshards a stream and reads its lineage back.
//!
//! The tools come from `cargo xtask clients setup` (pinned, into `~/.cache/streamproof/clients` or
//! `$STREAMPROOF_CLIENTS_HOME`); `cargo xtask ci` runs these tests in its clients stage. Without the
//! install they fail and say why.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::{clients_home, text};

/// A pipeline held by `env up` for one test, torn down by `env down` when dropped.
struct Held {
    state: tempfile::TempDir,
    name: &'static str,
    /// The `export` lines: endpoint, credentials, region.
    env: Vec<(String, String)>,
    bucket: String,
    stream: String,
}

impl Held {
    fn up(name: &'static str) -> Held {
        let state = tempfile::tempdir().unwrap();
        let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/kinesis-to-s3-small.toml");
        let up = Command::new(env!("CARGO_BIN_EXE_streamproof"))
            .args(["env", "up", scenario.to_str().unwrap(), "--name", name])
            .env("STREAMPROOF_ENV_DIR", state.path())
            .env("RUST_LOG", "warn")
            .output()
            .expect("the streamproof binary runs");
        let stdout = text(&up.stdout);
        assert_eq!(up.status.code(), Some(0), "env up: {stdout}{}", text(&up.stderr));
        let env = stdout
            .lines()
            .filter_map(|line| line.strip_prefix("export ")?.split_once('='))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        let held: serde_json::Value =
            serde_json::from_slice(&std::fs::read(state.path().join(format!("{name}.json"))).unwrap())
                .unwrap();
        let resource =
            |key: &str| held["resources"][key].as_str().expect("a provisioned resource").to_owned();
        Held { bucket: resource("bucket"), stream: resource("stream"), state, name, env }
    }

    /// `program args…` with the environment's endpoint and credentials, and no user configuration.
    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .envs(self.env.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        command
    }

    /// Runs the Python `script` of the clients' venv with `args` and returns its stdout, failing
    /// the test with its output (naming it `what`) if it fails.
    fn python(&self, what: &str, script: &str, args: &[&str]) -> String {
        let output = self
            .command(&tool("venv/bin/python"))
            .arg("-c")
            .arg(script)
            .args(args)
            .output()
            .expect("python runs");
        expect_success(what, &output)
    }

    /// Runs `aws args…` and returns its stdout, failing the test with its output if it fails.
    fn aws(&self, args: &[&str]) -> String {
        let output = self.command(&tool("venv/bin/aws")).args(args).output().expect("aws runs");
        expect_success(&format!("aws {}", args.join(" ")), &output)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let _ = Command::new(env!("CARGO_BIN_EXE_streamproof"))
            .args(["env", "down", "--name", self.name])
            .env("STREAMPROOF_ENV_DIR", self.state.path())
            .output();
    }
}

/// A file of the clients' install, failing the test with what to run when it is missing.
fn tool(relative: &str) -> PathBuf {
    let home = clients_home();
    let path = home.join(relative);
    let marker = std::fs::read_to_string(home.join("installed")).unwrap_or_default();
    if !path.exists() || !marker.contains("awscli") {
        panic!(
            "\n\nTHIS TEST NEEDS THE AWS CLIENTS FROM `cargo xtask clients setup`, WHICH ARE NOT INSTALLED IN {}.\n\
             Run `cargo xtask clients setup` (it needs python3, npm, PyPI and the npm registry), then run \
             the test again.\n",
            home.display()
        );
    }
    path
}

fn expect_success(what: &str, output: &Output) -> String {
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{what} failed with {}:\n{stdout}{}",
        output.status,
        text(&output.stderr)
    );
    stdout
}

/// The keys `aws s3api list-objects` lists under `prefix`.
fn listed(held: &Held, prefix: &str) -> Vec<String> {
    let out = held.aws(&[
        "s3api",
        "list-objects",
        "--bucket",
        &held.bucket,
        "--prefix",
        prefix,
        "--output",
        "json",
    ]);
    if out.trim().is_empty() {
        return Vec::new();
    }
    let listing: serde_json::Value = serde_json::from_str(&out).expect("list-objects prints JSON");
    let keys = listing["Contents"].as_array().map(Vec::as_slice).unwrap_or_default();
    keys.iter().map(|object| object["Key"].as_str().unwrap().to_owned()).collect()
}

#[test]
#[ignore = "needs the AWS CLI (cargo xtask clients setup); cargo xtask ci runs it"]
fn clients_aws_cli_moves_syncs_lists_and_copies_multipart_against_env_up() {
    let held = Held::up("cli");
    let bucket = format!("s3://{}", held.bucket);
    let head = held.aws(&["s3api", "head-bucket", "--bucket", &held.bucket, "--output", "json"]);
    assert!(head.contains("us-east-1") || head.trim().is_empty(), "{head}");

    let local = tempfile::tempdir().unwrap();
    std::fs::create_dir(local.path().join("sub")).unwrap();
    std::fs::write(local.path().join("a.txt"), "alpha\n").unwrap();
    std::fs::write(local.path().join("sub/b.txt"), "beta\n").unwrap();
    held.aws(&["s3", "sync", local.path().to_str().unwrap(), &format!("{bucket}/synced/")]);
    assert_eq!(listed(&held, "synced/"), ["synced/a.txt", "synced/sub/b.txt"]);

    let back = tempfile::tempdir().unwrap();
    held.aws(&["s3", "sync", &format!("{bucket}/synced/"), back.path().to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(back.path().join("a.txt")).unwrap(), "alpha\n");
    assert_eq!(std::fs::read_to_string(back.path().join("sub/b.txt")).unwrap(), "beta\n");

    held.aws(&["s3", "mv", &format!("{bucket}/synced/a.txt"), &format!("{bucket}/moved/a.txt")]);
    assert_eq!(listed(&held, "synced/"), ["synced/sub/b.txt"], "mv removes the source");
    assert_eq!(listed(&held, "moved/"), ["moved/a.txt"]);

    // 20 MiB crosses the CLI's 8 MiB multipart threshold: three parts of 8, 8 and 4 MiB.
    let big: Vec<u8> =
        (0..20 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let file = local.path().join("big.bin");
    std::fs::write(&file, &big).unwrap();
    held.aws(&["s3", "cp", file.to_str().unwrap(), &format!("{bucket}/big.bin")]);
    let head =
        held.aws(&["s3api", "head-object", "--bucket", &held.bucket, "--key", "big.bin", "--output", "json"]);
    let head: serde_json::Value = serde_json::from_str(&head).unwrap();
    assert_eq!(head["ContentLength"], 20 * 1024 * 1024);
    assert!(head["ETag"].as_str().unwrap().ends_with("-3\""), "a three-part multipart ETag: {head}");
    let copy = back.path().join("big.bin");
    held.aws(&["s3", "cp", &format!("{bucket}/big.bin"), copy.to_str().unwrap()]);
    assert!(std::fs::read(&copy).unwrap() == big, "the object reads back byte for byte");

    // CloudWatch Logs, where delivery errors go, through `aws logs`.
    held.aws(&["logs", "create-log-group", "--log-group-name", "/streamproof/cli"]);
    held.aws(&[
        "logs",
        "create-log-stream",
        "--log-group-name",
        "/streamproof/cli",
        "--log-stream-name",
        "s",
    ]);
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let event = format!("timestamp={now_ms},message=hello from the cli");
    held.aws(&[
        "logs",
        "put-log-events",
        "--log-group-name",
        "/streamproof/cli",
        "--log-stream-name",
        "s",
        "--log-events",
        &event,
    ]);
    let events = held.aws(&[
        "logs",
        "filter-log-events",
        "--log-group-name",
        "/streamproof/cli",
        "--filter-pattern",
        "hello",
        "--output",
        "json",
    ]);
    let events: serde_json::Value = serde_json::from_str(&events).unwrap();
    assert_eq!(events["events"][0]["message"], "hello from the cli", "{events}");
}

/// The reading script from blog posts about Firehose backups, as people copy it: list an hour's
/// objects with ListObjects (v1), read each, and split the concatenated JSON with `raw_decode`.
const SEED_SCRIPT: &str = r#"
import json, sys, time, boto3

bucket, stream, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
kinesis = boto3.client("kinesis")
for i in range(count):
    kinesis.put_record(StreamName=stream, Data=json.dumps({"n": i}).encode(), PartitionKey="k%d" % (i % 7))

s3 = boto3.client("s3")
def hour_prefixes():
    now = time.time()
    return [time.strftime("%Y/%m/%d/%H", time.gmtime(t)) for t in (now, now - 3600)]

records, deadline = [], time.time() + 60
while len(records) < count and time.time() < deadline:
    records = []
    for prefix in hour_prefixes():
        resp = s3.list_objects(Bucket=bucket, Prefix=prefix)
        for obj in resp.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode("utf-8")
            decoder, pos = json.JSONDecoder(), 0
            while pos < len(body):
                record, pos = decoder.raw_decode(body, pos)
                records.append(record["n"])
                while pos < len(body) and body[pos].isspace():
                    pos += 1
    if len(records) < count:
        time.sleep(0.5)
print("READ", sorted(records) == list(range(count)), len(records))
"#;

#[test]
#[ignore = "needs boto3 (cargo xtask clients setup); cargo xtask ci runs it"]
fn clients_the_seed_reading_script_reads_back_every_record() {
    let held = Held::up("seed");
    let stdout = held.python("the reading script", SEED_SCRIPT, &[&held.bucket, &held.stream, "200"]);
    assert!(stdout.contains("READ True 200"), "{stdout}");
}

/// A boto3 script that reshards the stream and reads the lineage back, as AWS's developer guide
/// shows it: UpdateShardCount, a waiter until the stream is ACTIVE, then ListShards.
const RESHARD_SCRIPT: &str = r#"
import json, sys
import boto3

stream = sys.argv[1]
kinesis = boto3.client("kinesis")
scaled = kinesis.update_shard_count(StreamName=stream, TargetShardCount=4, ScalingType="UNIFORM_SCALING")
kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
shards = kinesis.list_shards(StreamName=stream)["Shards"]
latest = kinesis.list_shards(StreamName=stream, ShardFilter={"Type": "AT_LATEST"})["Shards"]
print(json.dumps({
    "current": scaled["CurrentShardCount"], "target": scaled["TargetShardCount"],
    "closed": [s["ShardId"] for s in shards if "EndingSequenceNumber" in s["SequenceNumberRange"]],
    "parents": {s["ShardId"]: s.get("ParentShardId") for s in latest},
}))
"#;

#[test]
#[ignore = "needs boto3 (cargo xtask clients setup); cargo xtask ci runs it"]
fn clients_boto3_reshards_and_lists_closed_parents_and_open_children() {
    let held = Held::up("reshard");
    let stdout = held.python("the resharding script", RESHARD_SCRIPT, &[&held.stream]);
    let seen: serde_json::Value = serde_json::from_str(stdout.trim()).expect("the script prints JSON");
    assert_eq!((seen["current"].as_u64(), seen["target"].as_u64()), (Some(2), Some(4)), "{seen}");
    assert_eq!(seen["closed"], serde_json::json!(["shardId-000000000000", "shardId-000000000001"]));
    let parents = seen["parents"].as_object().expect("open shards");
    assert_eq!(parents.len(), 4, "{seen}");
    for (child, parent) in parents {
        let parent = parent.as_str().unwrap_or_else(|| panic!("{child} has no ParentShardId: {seen}"));
        assert!(["shardId-000000000000", "shardId-000000000001"].contains(&parent), "{seen}");
    }
}

/// A Node script with the JavaScript SDK's default clients: Kinesis speaks HTTP/2 (cleartext, prior
/// knowledge, on an http:// endpoint), including a SubscribeToShard event stream.
const NODE_SCRIPT: &str = r#"
const { KinesisClient, PutRecordCommand, ListShardsCommand, GetShardIteratorCommand, GetRecordsCommand,
        RegisterStreamConsumerCommand, DescribeStreamSummaryCommand, SubscribeToShardCommand } =
  require("@aws-sdk/client-kinesis");
const { S3Client, ListObjectsV2Command, HeadBucketCommand } = require("@aws-sdk/client-s3");
const [bucket, stream] = process.argv.slice(1);

(async () => {
  const kinesis = new KinesisClient({});
  const handler = kinesis.config.requestHandler.constructor.name;
  const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
  const arn = summary.StreamDescriptionSummary.StreamARN;
  const put = await kinesis.send(new PutRecordCommand({
    StreamName: stream, PartitionKey: "node", Data: Buffer.from('{"from":"node"}') }));
  const iterator = await kinesis.send(new GetShardIteratorCommand({
    StreamName: stream, ShardId: put.ShardId, ShardIteratorType: "AT_SEQUENCE_NUMBER",
    StartingSequenceNumber: put.SequenceNumber }));
  const got = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator, Limit: 1 }));
  const read = Buffer.from(got.Records[0].Data).toString();

  const consumer = await kinesis.send(new RegisterStreamConsumerCommand({ StreamARN: arn, ConsumerName: "node" }));
  const sub = await kinesis.send(new SubscribeToShardCommand({
    ConsumerARN: consumer.Consumer.ConsumerARN, ShardId: put.ShardId,
    StartingPosition: { Type: "AT_SEQUENCE_NUMBER", SequenceNumber: put.SequenceNumber } }));
  let pushed = null;
  for await (const event of sub.EventStream) {
    const records = event.SubscribeToShardEvent?.Records ?? [];
    if (records.length > 0) { pushed = Buffer.from(records[0].Data).toString(); break; }
  }

  const s3 = new S3Client({ forcePathStyle: true });
  await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  const listing = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  console.log(JSON.stringify({ handler, read, pushed, listed: listing.KeyCount !== undefined }));
  kinesis.destroy();
  process.exit(0);
})().catch((err) => { console.error(err); process.exit(1); });
"#;

#[test]
#[ignore = "needs the JavaScript SDK (cargo xtask clients setup); cargo xtask ci runs it"]
fn clients_the_javascript_sdk_calls_kinesis_over_http2_and_subscribes_to_a_shard() {
    let held = Held::up("node");
    let modules = tool("node/node_modules");
    let output = held
        .command(Path::new("node"))
        .args(["-e", NODE_SCRIPT, "--", &held.bucket, &held.stream])
        .env("NODE_PATH", &modules)
        .output()
        .expect("node runs");
    let stdout = expect_success("the Node script", &output);
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).expect("the script prints JSON");
    assert_eq!(result["handler"], "NodeHttp2Handler", "the Kinesis client's default transport");
    assert_eq!(result["read"], r#"{"from":"node"}"#);
    assert_eq!(result["pushed"], r#"{"from":"node"}"#, "SubscribeToShard pushed the record");
    assert_eq!(result["listed"], true);
}
