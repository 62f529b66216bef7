//! Data transformation: the user's own Lambda handler, run as a local process.
//!
//! Firehose buffers incoming records for the processor, invokes the function synchronously with the
//! transformation event (`invocationId`, `deliveryStreamArn`, `region`, `records[]` with `recordId`,
//! `approximateArrivalTimestamp` and base64 `data`), and expects `records[]` back with the same
//! `recordId`s, a `result` (`Ok`, `Dropped` or `ProcessingFailed`) and base64 `data`. Here the
//! handler runs in a long-lived worker process (`python3` for `module:function` handlers, `node`
//! for Node.js) fed one event per line on stdin, answering one line on stdout; whatever the handler
//! prints goes to its stderr, which is logged.
//!
//! Failures are handled as Firehose handles them: an invocation that fails (the handler raises, the
//! worker dies, the reply is late, malformed, misses or repeats a `recordId`) is retried, by default
//! three times, and then every record of the batch is unsuccessfully processed; a record the handler
//! marks `ProcessingFailed` is unsuccessfully processed. Unsuccessfully processed records go to the
//! `processing-failed` error output as JSON documents ([`error_document`]), never silently lost.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// How many stderr lines of the worker are kept for error messages.
const STDERR_TAIL_LINES: usize = 20;

/// The language the handler is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// `module:function`, imported from the code directory with `python3`.
    Python,
    /// `file:export` (`file.js` or `file.mjs` in the code directory) with `node`; the export may be
    /// async, return a promise, or take a callback.
    Node,
}

/// The handler and how to run it.
#[derive(Debug, Clone)]
pub struct TransformConfig {
    pub runtime: Runtime,
    /// `module:function`, e.g. `transform:lambda_handler`.
    pub handler: String,
    /// The directory the handler's code is in (the worker's working directory).
    pub code_dir: PathBuf,
    /// The function timeout: a reply later than this fails the invocation.
    pub timeout: Duration,
    /// Retries of a failed invocation before its records are unsuccessfully processed (Firehose's
    /// `NumberOfRetries`, default 3).
    pub retries: u32,
    /// The function ARN reported in error documents (`lambdaArn`).
    pub function_arn: String,
}

/// One record handed to the handler.
#[derive(Debug, Clone)]
pub struct TransformInput {
    pub record_id: String,
    /// When Firehose received the record, in Unix milliseconds.
    pub arrival_ms: i64,
    pub data: Vec<u8>,
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransformOutcome {
    /// Transformed; deliver these bytes.
    Ok(Vec<u8>),
    /// Dropped on purpose by the handler: processed successfully, delivered nowhere.
    Dropped,
    /// Unsuccessfully processed: goes to the `processing-failed` error output.
    Failed { error_code: String, error_message: String, attempts: u32 },
}

/// Runs a handler; one worker process at a time, restarted after it fails.
#[derive(Debug)]
pub struct Transformer {
    config: TransformConfig,
    delivery_stream_arn: String,
    region: String,
    worker: Option<Worker>,
}

impl Transformer {
    pub fn new(config: TransformConfig, delivery_stream_arn: String, region: String) -> Transformer {
        Transformer { config, delivery_stream_arn, region, worker: None }
    }

    /// Transforms one buffered batch; the outcomes are aligned with `records`.
    pub async fn transform(&mut self, records: &[TransformInput]) -> Vec<TransformOutcome> {
        if records.is_empty() {
            return Vec::new();
        }
        let attempts = self.config.retries + 1;
        let mut last_failure = InvocationFailure::function_error("never invoked".to_owned());
        for attempt in 1..=attempts {
            match self.invoke(records).await {
                Ok(outcomes) => return outcomes,
                Err(failure) => {
                    tracing::warn!(
                        handler = %self.config.handler,
                        attempt,
                        attempts,
                        code = failure.code,
                        message = %failure.message,
                        "transformation invocation failed"
                    );
                    last_failure = failure;
                }
            }
        }
        records
            .iter()
            .map(|_| TransformOutcome::Failed {
                error_code: last_failure.code.to_owned(),
                error_message: last_failure.message.clone(),
                attempts,
            })
            .collect()
    }

    /// One invocation: the event out, the reply back, checked as Firehose checks it.
    async fn invoke(
        &mut self,
        records: &[TransformInput],
    ) -> Result<Vec<TransformOutcome>, InvocationFailure> {
        let event = json!({
            "invocationId": uuid::Uuid::new_v4().to_string(),
            "deliveryStreamArn": self.delivery_stream_arn,
            "region": self.region,
            "records": records.iter().map(|record| json!({
                "recordId": record.record_id,
                "approximateArrivalTimestamp": record.arrival_ms,
                "data": BASE64.encode(&record.data),
            })).collect::<Vec<_>>(),
        });
        let request = json!({ "event": event, "timeoutMs": self.config.timeout.as_millis() as u64 });
        let mut line = serde_json::to_vec(&request).expect("a JSON value serialises");
        line.push(b'\n');

        if self.worker.is_none() {
            self.worker = Some(Worker::spawn(&self.config)?);
        }
        let worker = self.worker.as_mut().expect("just started");
        let reply = match tokio::time::timeout(self.config.timeout, worker.call(&line)).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(failure)) => {
                let tail = worker.stderr_tail();
                self.stop_worker().await;
                return Err(InvocationFailure { message: with_tail(failure.message, &tail), ..failure });
            }
            Err(_) => {
                self.stop_worker().await;
                return Err(InvocationFailure {
                    code: "Lambda.FunctionTimedOut",
                    message: format!("the handler did not answer within {:?}", self.config.timeout),
                });
            }
        };
        let reply: Value = serde_json::from_str(&reply).map_err(|error| InvocationFailure {
            code: "Lambda.JsonProcessingException",
            message: format!("the worker's reply is not JSON: {error}"),
        })?;
        if let Some(error) = reply.get("error").and_then(Value::as_str) {
            return Err(InvocationFailure::function_error(error.to_owned()));
        }
        outcomes(records, reply.get("result").unwrap_or(&Value::Null))
    }

    async fn stop_worker(&mut self) {
        if let Some(mut worker) = self.worker.take() {
            let _ = worker.child.kill().await;
        }
    }

    /// Stops the worker process.
    pub async fn shutdown(&mut self) {
        self.stop_worker().await;
    }
}

/// Checks a handler's return value against the records it was given.
fn outcomes(records: &[TransformInput], result: &Value) -> Result<Vec<TransformOutcome>, InvocationFailure> {
    let invalid = |message: String| InvocationFailure { code: "Lambda.JsonProcessingException", message };
    let returned = result
        .get("records")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("the handler's return value has no `records` array".to_owned()))?;
    let mut by_id: HashMap<&str, TransformOutcome> = HashMap::with_capacity(returned.len());
    for (index, record) in returned.iter().enumerate() {
        let id = record
            .get("recordId")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format!("records[{index}] has no string `recordId`")))?;
        let outcome = match record.get("result").and_then(Value::as_str) {
            Some("Ok") => {
                let data = record.get("data").and_then(Value::as_str).ok_or_else(|| {
                    invalid(format!("records[{index}] ({id}) is Ok but has no string `data`"))
                })?;
                let bytes = BASE64.decode(data).map_err(|error| {
                    invalid(format!("records[{index}] ({id}): `data` is not base64: {error}"))
                })?;
                TransformOutcome::Ok(bytes)
            }
            Some("Dropped") => TransformOutcome::Dropped,
            Some("ProcessingFailed") => TransformOutcome::Failed {
                error_code: "Lambda.FunctionError".to_owned(),
                error_message:
                    "The Lambda function was successfully invoked but it returned an error result.".to_owned(),
                attempts: 1,
            },
            other => {
                return Err(invalid(format!(
                    "records[{index}] ({id}): `result` must be Ok, Dropped or ProcessingFailed, not {other:?}"
                )));
            }
        };
        if by_id.insert(id, outcome).is_some() {
            return Err(InvocationFailure {
                code: "Lambda.DuplicatedRecordId",
                message: format!("recordId {id} is returned more than once"),
            });
        }
    }
    let mut outcomes = Vec::with_capacity(records.len());
    for record in records {
        match by_id.remove(record.record_id.as_str()) {
            Some(outcome) => outcomes.push(outcome),
            None => {
                return Err(InvocationFailure {
                    code: "Lambda.MissingRecordId",
                    message: format!("recordId {} is missing from the handler's reply", record.record_id),
                });
            }
        }
    }
    if let Some(extra) = by_id.keys().next() {
        return Err(InvocationFailure {
            code: "Lambda.MissingRecordId",
            message: format!("the handler returned recordId {extra}, which it was not given"),
        });
    }
    Ok(outcomes)
}

/// The JSON document Firehose writes under `processing-failed/` for an unsuccessfully processed
/// record: its original bytes base64 in `rawData`, with the error and the attempts made.
pub fn error_document(
    input: &TransformInput,
    error_code: &str,
    error_message: &str,
    attempts: u32,
    ended_ms: i64,
    function_arn: &str,
) -> Vec<u8> {
    let document = json!({
        "attemptsMade": attempts,
        "arrivalTimestamp": input.arrival_ms,
        "errorCode": error_code,
        "errorMessage": error_message,
        "attemptEndingTimestamp": ended_ms,
        "rawData": BASE64.encode(&input.data),
        "lambdaArn": function_arn,
    });
    serde_json::to_vec(&document).expect("a JSON value serialises")
}

/// Why one invocation failed, with Firehose's error code for it.
#[derive(Debug, Clone)]
struct InvocationFailure {
    code: &'static str,
    message: String,
}

impl InvocationFailure {
    fn function_error(message: String) -> InvocationFailure {
        InvocationFailure { code: "Lambda.FunctionError", message }
    }
}

fn with_tail(message: String, tail: &[String]) -> String {
    if tail.is_empty() {
        message
    } else {
        format!("{message}; the handler's last output:\n{}", tail.join("\n"))
    }
}

/// A running handler process.
#[derive(Debug)]
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    stderr_reader: Option<tokio::task::JoinHandle<()>>,
}

impl Worker {
    fn spawn(config: &TransformConfig) -> Result<Worker, InvocationFailure> {
        let (module, function) = config.handler.split_once(':').ok_or_else(|| {
            InvocationFailure::function_error(format!(
                "handler {:?} is not `module:function`",
                config.handler
            ))
        })?;
        let mut command = match config.runtime {
            Runtime::Python => {
                let mut command = Command::new("python3");
                command.args(["-u", "-c", PYTHON_BOOTSTRAP, module, function]);
                command
            }
            Runtime::Node => {
                let mut command = Command::new("node");
                command.args(["-e", NODE_BOOTSTRAP, module, function]);
                command
            }
        };
        let mut child = command
            .current_dir(&config.code_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| {
                InvocationFailure::function_error(format!(
                    "cannot start the {:?} handler in {}: {error}",
                    config.runtime,
                    config.code_dir.display()
                ))
            })?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let mut lines = BufReader::new(child.stderr.take().expect("stderr is piped")).lines();
        let tail = Arc::clone(&stderr);
        let handler = config.handler.clone();
        let stderr_reader = tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::info!(%handler, "{line}");
                let mut tail = tail.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if tail.len() == STDERR_TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        });
        Ok(Worker { child, stdin, stdout, stderr, stderr_reader: Some(stderr_reader) })
    }

    /// Sends one request line and reads one reply line.
    async fn call(&mut self, line: &[u8]) -> Result<String, InvocationFailure> {
        let died = |what: &str| InvocationFailure::function_error(format!("the handler process {what}"));
        self.stdin.write_all(line).await.map_err(|_| died("is not running"))?;
        self.stdin.flush().await.map_err(|_| died("is not running"))?;
        let mut reply = String::new();
        match self.stdout.read_line(&mut reply).await {
            Ok(0) | Err(_) => {
                let status = self.child.wait().await.map(|s| s.to_string()).unwrap_or_default();
                // The process is gone, so its stderr ends: read what it said before it died.
                if let Some(reader) = self.stderr_reader.take() {
                    let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
                }
                Err(died(&format!("exited ({status})")))
            }
            Ok(_) => Ok(reply),
        }
    }

    fn stderr_tail(&self) -> Vec<String> {
        self.stderr.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).iter().cloned().collect()
    }
}

/// Loads `module:function` from the working directory and answers one JSON line per request line.
/// The reply channel is a copy of the original stdout; the handler's own prints go to stderr.
const PYTHON_BOOTSTRAP: &str = r#"
import importlib, json, os, sys, time, traceback, uuid
replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
sys.stdout = sys.stderr
sys.path.insert(0, os.getcwd())
module_name, function_name = sys.argv[1], sys.argv[2]
handler = getattr(importlib.import_module(module_name), function_name)

class Context:
    def __init__(self, timeout_ms):
        self.function_name = function_name
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_ms / 1000.0
    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))

for line in sys.stdin:
    request = json.loads(line)
    try:
        reply = json.dumps({"result": handler(request["event"], Context(request["timeoutMs"]))})
    except Exception as error:
        traceback.print_exc()
        reply = json.dumps({"error": "%s: %s" % (type(error).__name__, error)})
    replies.write(reply + "\n")
    replies.flush()
"#;

/// The Node.js counterpart: the handler may be async, return a promise, or take a callback.
const NODE_BOOTSTRAP: &str = r#"
const path = require("path");
const readline = require("readline");
const crypto = require("crypto");
const [moduleName, functionName] = process.argv.slice(-2);
const replies = process.stdout;
console.log = console.error;
console.info = console.error;
const handler = require(path.resolve(moduleName))[functionName];
if (typeof handler !== "function") {
  console.error(`${moduleName} has no function ${functionName}`);
  process.exit(1);
}
function invoke(event, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  const context = {
    functionName,
    awsRequestId: crypto.randomUUID(),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  return new Promise((resolve, reject) => {
    const callback = (error, result) => (error ? reject(error) : resolve(result));
    try {
      const returned = handler(event, context, callback);
      if (returned && typeof returned.then === "function") returned.then(resolve, reject);
      else if (handler.length < 3) resolve(returned);
    } catch (error) {
      reject(error);
    }
  });
}
const lines = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on("line", (line) => {
  queue = queue.then(async () => {
    const request = JSON.parse(line);
    let reply;
    try {
      reply = JSON.stringify({ result: await invoke(request.event, request.timeoutMs) });
    } catch (error) {
      console.error(error && error.stack ? error.stack : String(error));
      reply = JSON.stringify({ error: String(error && error.message ? `${error.name}: ${error.message}` : error) });
    }
    replies.write(reply + "\n");
  });
});
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path, runtime: Runtime, handler: &str) -> TransformConfig {
        TransformConfig {
            runtime,
            handler: handler.to_owned(),
            code_dir: dir.to_path_buf(),
            timeout: Duration::from_secs(20),
            retries: 1,
            function_arn: "arn:aws:lambda:us-east-1:000000000000:function:transform".to_owned(),
        }
    }

    fn inputs(n: usize) -> Vec<TransformInput> {
        (0..n)
            .map(|i| TransformInput {
                record_id: format!("r{i}"),
                arrival_ms: 1_795_000_000_000 + i as i64,
                data: format!("{{\"i\":{i}}}").into_bytes(),
            })
            .collect()
    }

    fn new_transformer(dir: &std::path::Path, runtime: Runtime, handler: &str) -> Transformer {
        Transformer::new(
            config(dir, runtime, handler),
            "arn:aws:firehose:us-east-1:000000000000:deliverystream/s".to_owned(),
            "us-east-1".to_owned(),
        )
    }

    /// Appends a newline to every record, drops every third and fails every fifth.
    const PYTHON_HANDLER: &str = r#"
import base64
def handle(event, context):
    assert context.get_remaining_time_in_millis() > 0
    print("handling", len(event["records"]), "records")
    out = []
    for n, record in enumerate(event["records"]):
        if n % 5 == 4:
            out.append({"recordId": record["recordId"], "result": "ProcessingFailed", "data": record["data"]})
        elif n % 3 == 2:
            out.append({"recordId": record["recordId"], "result": "Dropped"})
        else:
            data = base64.b64decode(record["data"]) + b"\n"
            out.append({"recordId": record["recordId"], "result": "Ok", "data": base64.b64encode(data).decode()})
    return {"records": out}

def broken(event, context):
    raise ValueError("no good")

def forgetful(event, context):
    return {"records": [{"recordId": r["recordId"], "result": "Ok", "data": r["data"]} for r in event["records"][1:]]}
"#;

    fn expected_outcomes(records: &[TransformInput]) -> Vec<TransformOutcome> {
        records
            .iter()
            .enumerate()
            .map(|(n, record)| match n {
                n if n % 5 == 4 => TransformOutcome::Failed {
                    error_code: "Lambda.FunctionError".to_owned(),
                    error_message:
                        "The Lambda function was successfully invoked but it returned an error result."
                            .to_owned(),
                    attempts: 1,
                },
                n if n % 3 == 2 => TransformOutcome::Dropped,
                _ => TransformOutcome::Ok([record.data.as_slice(), b"\n"].concat()),
            })
            .collect()
    }

    #[tokio::test]
    async fn a_python_handler_transforms_drops_and_fails_records_across_invocations() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("transform.py"), PYTHON_HANDLER).unwrap();
        let mut transformer = new_transformer(dir.path(), Runtime::Python, "transform:handle");
        let records = inputs(15);
        assert_eq!(transformer.transform(&records).await, expected_outcomes(&records));
        // The same worker answers the next batch.
        let records = inputs(7);
        assert_eq!(transformer.transform(&records).await, expected_outcomes(&records));
        transformer.shutdown().await;
    }

    #[tokio::test]
    async fn a_node_handler_works_async_and_with_a_callback() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("transform.js"),
            r#"
exports.handler = async (event) => ({
  records: event.records.map((r) => ({
    recordId: r.recordId,
    result: "Ok",
    data: Buffer.from(Buffer.from(r.data, "base64").toString() + "\n").toString("base64"),
  })),
});
exports.withCallback = (event, context, callback) => {
  console.log("not on the reply channel");
  callback(null, { records: event.records.map((r) => ({ recordId: r.recordId, result: "Dropped" })) });
};
"#,
        )
        .unwrap();
        let records = inputs(4);
        let mut transformer = new_transformer(dir.path(), Runtime::Node, "transform:handler");
        let outcomes = transformer.transform(&records).await;
        let expected: Vec<_> =
            records.iter().map(|r| TransformOutcome::Ok([r.data.as_slice(), b"\n"].concat())).collect();
        assert_eq!(outcomes, expected);
        let mut transformer = new_transformer(dir.path(), Runtime::Node, "transform:withCallback");
        assert_eq!(transformer.transform(&records).await, vec![TransformOutcome::Dropped; 4]);
    }

    #[tokio::test]
    async fn failed_invocations_are_retried_then_every_record_fails_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("transform.py"), PYTHON_HANDLER).unwrap();
        let records = inputs(3);
        for (handler, code, says) in [
            ("transform:broken", "Lambda.FunctionError", "ValueError: no good"),
            ("transform:forgetful", "Lambda.MissingRecordId", "recordId r0 is missing"),
            ("missing_module:handle", "Lambda.FunctionError", "ModuleNotFoundError"),
        ] {
            let mut transformer = new_transformer(dir.path(), Runtime::Python, handler);
            let outcomes = transformer.transform(&records).await;
            assert_eq!(outcomes.len(), 3);
            for outcome in outcomes {
                let TransformOutcome::Failed { error_code, error_message, attempts } = outcome else {
                    panic!("{handler}: {outcome:?}")
                };
                assert_eq!((error_code.as_str(), attempts), (code, 2), "{handler}");
                assert!(error_message.contains(says), "{handler}: {error_message}");
            }
        }
    }

    #[tokio::test]
    async fn a_handler_that_hangs_times_out_and_the_next_batch_gets_a_fresh_worker() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("slow.py"),
            "import time\ncalls = 0\ndef handle(event, context):\n    global calls\n    calls += 1\n    \
             if len(event['records']) == 1:\n        time.sleep(60)\n    \
             return {'records': [{'recordId': r['recordId'], 'result': 'Dropped'} for r in event['records']]}\n",
        )
        .unwrap();
        let mut config = config(dir.path(), Runtime::Python, "slow:handle");
        // Long enough that a fresh interpreter starts within it on a loaded machine; the hang
        // (60 s) is far beyond it.
        config.timeout = Duration::from_secs(5);
        config.retries = 0;
        let mut transformer = Transformer::new(config, "arn".to_owned(), "us-east-1".to_owned());
        let outcomes = transformer.transform(&inputs(1)).await;
        assert!(
            matches!(&outcomes[..], [TransformOutcome::Failed { error_code, .. }] if error_code == "Lambda.FunctionTimedOut"),
            "{outcomes:?}"
        );
        assert_eq!(transformer.transform(&inputs(2)).await, vec![TransformOutcome::Dropped; 2]);
    }

    #[test]
    fn error_documents_carry_the_raw_data_and_the_reason() {
        let input = &inputs(1)[0];
        let document = error_document(input, "Lambda.FunctionError", "boom", 4, 1_795_000_000_500, "arn:f");
        let value: Value = serde_json::from_slice(&document).unwrap();
        assert_eq!(value["rawData"], BASE64.encode(&input.data));
        assert_eq!(value["attemptsMade"], 4);
        assert_eq!(value["arrivalTimestamp"], input.arrival_ms);
        assert_eq!(value["errorCode"], "Lambda.FunctionError");
        assert_eq!(value["lambdaArn"], "arn:f");
    }
}
