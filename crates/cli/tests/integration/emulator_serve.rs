//! `streamproof emulator serve` driven by boto3: the standalone emulator works for Python users.
//!
//! boto3 comes from the project's own setup, `cargo xtask clients setup` (pinned, into
//! `~/.cache/streamproof/clients` or `$STREAMPROOF_CLIENTS_HOME`), which needs PyPI; so the test is
//! gated like the LocalStack ones and `cargo xtask ci` runs it in its clients stage. Without the
//! install it fails and says why: it never passes without having run the script.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::{clients_home, succeed};

/// What the script does against the endpoint in `AWS_ENDPOINT_URL`: create a bucket, a stream and
/// a delivery stream reading it, put a record, and wait for the object Firehose writes.
const SCRIPT: &str = r#"
import sys, time, boto3

kinesis = boto3.client("kinesis")
firehose = boto3.client("firehose")
s3 = boto3.client("s3")

s3.create_bucket(Bucket="served")
assert "served" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
kinesis.create_stream(StreamName="served", ShardCount=1)
arn = kinesis.describe_stream_summary(StreamName="served")["StreamDescriptionSummary"]["StreamARN"]
firehose.create_delivery_stream(
    DeliveryStreamName="served",
    DeliveryStreamType="KinesisStreamAsSource",
    KinesisStreamSourceConfiguration={"KinesisStreamARN": arn, "RoleARN": "arn:aws:iam::000000000000:role/f"},
    ExtendedS3DestinationConfiguration={
        "RoleARN": "arn:aws:iam::000000000000:role/f",
        "BucketARN": "arn:aws:s3:::served",
        "Prefix": "boto/",
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
        "ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "AppendDelimiterToRecord"}]},
    },
)
put = kinesis.put_record(StreamName="served", Data=b'{"hello":"boto3"}', PartitionKey="k")
assert put["ShardId"] == "shardId-000000000000", put

deadline = time.time() + 30
while True:
    listing = s3.list_objects_v2(Bucket="served", Prefix="boto/")
    if listing.get("KeyCount", 0) > 0:
        break
    if time.time() > deadline:
        sys.exit("no object in s3://served/boto/ after 30 s")
    time.sleep(0.1)
key = listing["Contents"][0]["Key"]
body = s3.get_object(Bucket="served", Key=key)["Body"].read()
assert body == b'{"hello":"boto3"}\n', body
print("OBJECT", key)
"#;

/// The Python of the clients' virtual environment, with boto3 installed.
fn python_with_boto3() -> PathBuf {
    let home = clients_home();
    let python = home.join("venv/bin/python");
    if let Err(err) = succeed(Command::new(&python).args(["-c", "import boto3"])) {
        panic!(
            "\n\nTHIS TEST NEEDS boto3 FROM `cargo xtask clients setup`, WHICH IS NOT INSTALLED IN {}.\n\
             Run `cargo xtask clients setup` (it needs python3 and PyPI), then run the test again.\n\n{err}\n",
            home.display()
        );
    }
    python
}

/// Stops the server with SIGTERM when dropped, so a failing test leaves no process behind.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
#[ignore = "needs boto3 (cargo xtask clients setup); cargo xtask ci runs it"]
fn clients_boto3_creates_a_stream_puts_a_record_and_lists_the_object() {
    let python = python_with_boto3();
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_streamproof"))
            .args(["emulator", "serve", "--port", "0", "--time-scale", "60"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the streamproof binary starts"),
    );
    let (lines_tx, lines) = mpsc::channel();
    let stdout = server.0.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut env = Vec::new();
    loop {
        let line =
            lines.recv_timeout(Duration::from_secs(30)).expect("serve prints its environment within 30 s");
        if let Some((name, value)) = line.strip_prefix("export ").and_then(|rest| rest.split_once('=')) {
            env.push((name.to_owned(), value.to_owned()));
        }
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    let endpoint = env.iter().find(|(name, _)| name == "AWS_ENDPOINT_URL").map(|(_, v)| v.clone());
    let endpoint = endpoint.expect("AWS_ENDPOINT_URL is printed");
    assert!(endpoint.starts_with("http://127.0.0.1:") && !endpoint.ends_with(":0"), "{endpoint}");
    for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"] {
        assert!(env.iter().any(|(n, _)| n == name), "{name} is not printed");
    }

    let output = Command::new(&python)
        .args(["-c", SCRIPT])
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .envs(env.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the boto3 script failed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("OBJECT boto/"), "{stdout}");

    // SIGTERM, like Ctrl-C, shuts the server down cleanly.
    succeed(Command::new("kill").args(["-TERM", &server.0.id().to_string()])).expect("kill -TERM");
    let mut rest = Vec::new();
    loop {
        match lines.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => rest.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("the server did not stop within 30 s: {rest:?}"),
        }
    }
    let status = server.0.wait().expect("the server exits");
    assert!(status.success(), "exit status {status}");
    assert_eq!(rest.last().map(String::as_str), Some("stopped"), "{rest:?}");
}
