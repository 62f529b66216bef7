//! Data transformation through aws-sdk-firehose: a `Lambda` processor running a local handler.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_firehose::error::ProvideErrorMetadata as _;
use aws_sdk_firehose::types::{
    BufferingHints, ExtendedS3DestinationConfiguration, ProcessingConfiguration, Processor,
    ProcessorParameter, ProcessorParameterName, ProcessorType, Record,
};
use aws_sdk_kinesis::primitives::Blob;
use base64::Engine as _;
use emulator::{EmulatorConfig, TransformConfig, TransformEventKind, TransformRuntime};

use crate::common::{Harness, eventually};

const ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:upper";

/// Upper-cases records and appends a newline, drops `drop` records and fails `fail` records.
const HANDLER: &str = r#"
import base64
def handle(event, context):
    out = []
    for r in event["records"]:
        data = base64.b64decode(r["data"])
        if data == b"drop":
            out.append({"recordId": r["recordId"], "result": "Dropped"})
        elif data == b"fail":
            out.append({"recordId": r["recordId"], "result": "ProcessingFailed", "data": r["data"]})
        else:
            out.append({"recordId": r["recordId"], "result": "Ok",
                        "data": base64.b64encode(data.upper() + b"\n").decode()})
    return {"records": out}
"#;

fn destination(
    bucket: &str,
    parameters: &[(ProcessorParameterName, &str)],
) -> ExtendedS3DestinationConfiguration {
    let processor = Processor::builder()
        .r#type(ProcessorType::Lambda)
        .set_parameters(Some(
            parameters
                .iter()
                .map(|(name, value)| {
                    ProcessorParameter::builder()
                        .parameter_name(name.clone())
                        .parameter_value(*value)
                        .build()
                        .unwrap()
                })
                .collect(),
        ))
        .build()
        .unwrap();
    ExtendedS3DestinationConfiguration::builder()
        .role_arn("arn:aws:iam::000000000000:role/firehose")
        .bucket_arn(format!("arn:aws:s3:::{bucket}"))
        .buffering_hints(BufferingHints::builder().size_in_mbs(1).interval_in_seconds(0).build())
        .processing_configuration(
            ProcessingConfiguration::builder().enabled(true).processors(processor).build(),
        )
        .build()
        .unwrap()
}

/// An emulator with the Python handler `module:function` in `dir` registered as Lambda `name`.
async fn harness_with_python(name: &str, dir: &std::path::Path, handler: &str) -> Harness {
    let config = TransformConfig {
        runtime: TransformRuntime::Python,
        handler: handler.to_owned(),
        code_dir: dir.to_path_buf(),
        timeout: Duration::from_secs(30),
        retries: 3,
        function_arn: String::new(),
    };
    let lambdas = BTreeMap::from([(name.to_owned(), config)]);
    Harness::with_config(EmulatorConfig { lambdas, ..EmulatorConfig::default() }).await
}

#[tokio::test]
async fn a_lambda_processor_transforms_drops_and_sends_failures_to_the_error_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("upper.py"), HANDLER).unwrap();
    let h = harness_with_python("upper", dir.path(), "upper:handle").await;
    h.s3.create_bucket().bucket("transformed").send().await.unwrap();
    h.firehose
        .create_delivery_stream()
        .delivery_stream_name("ds")
        .extended_s3_destination_configuration(destination(
            "transformed",
            &[
                (ProcessorParameterName::LambdaArn, ARN),
                (ProcessorParameterName::BufferIntervalInSeconds, "0"),
            ],
        ))
        .send()
        .await
        .unwrap();
    let records: Vec<Record> = ["a", "drop", "b", "fail", "c"]
        .iter()
        .map(|d| Record::builder().data(Blob::new(*d)).build().unwrap())
        .collect();
    let put = h
        .firehose
        .put_record_batch()
        .delivery_stream_name("ds")
        .set_records(Some(records))
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_put_count(), 0);

    let objects = eventually("the delivered and the error object", Duration::from_secs(20), || async {
        let objects = h.objects("transformed").await;
        (objects.len() == 2).then_some(objects)
    })
    .await;
    let (failed, delivered): (Vec<_>, Vec<_>) =
        objects.into_iter().partition(|(key, _)| key.starts_with("processing-failed/"));
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0].1, b"A\nB\nC\n");
    let [(key, body)] = &failed[..] else { panic!("{failed:?}") };
    assert!(key.contains("/ds-1-"), "{key}");
    let document: serde_json::Value = serde_json::from_slice(body.trim_ascii_end()).unwrap();
    assert_eq!(document["errorCode"], "Lambda.FunctionError");
    assert_eq!(document["lambdaArn"], ARN);
    assert_eq!(document["rawData"], base64::engine::general_purpose::STANDARD.encode("fail"));

    let log = h.emulator.transform_log();
    let kinds: Vec<(&[u8], &TransformEventKind)> = log.iter().map(|e| (&e.data[..], &e.kind)).collect();
    assert_eq!(kinds.len(), 2, "{log:?}");
    assert!(kinds.contains(&(&b"drop"[..], &TransformEventKind::Dropped)), "{log:?}");
    assert!(
        kinds.iter().any(|(data, kind)| *data == b"fail"
            && matches!(kind, TransformEventKind::Failed { error_code, object } if error_code == "Lambda.FunctionError" && object == key)),
        "{log:?}"
    );
}

#[tokio::test]
async fn unregistered_functions_and_bad_hints_are_refused() {
    let h = Harness::start().await;
    let refused = |parameters: &'static [(ProcessorParameterName, &'static str)]| {
        let h = &h;
        async move {
            let error = h
                .firehose
                .create_delivery_stream()
                .delivery_stream_name("refused")
                .extended_s3_destination_configuration(destination("transformed", parameters))
                .send()
                .await
                .unwrap_err();
            (error.code().unwrap_or_default().to_owned(), error.message().unwrap_or_default().to_owned())
        }
    };
    let (code, message) = refused(&[(ProcessorParameterName::LambdaArn, ARN)]).await;
    assert_eq!(code, "InvalidArgumentException");
    assert!(message.contains("upper is not registered") && message.contains("--lambda upper="), "{message}");
    let (code, message) = refused(&[(ProcessorParameterName::BufferSizeInMb, "0.1")]).await;
    assert_eq!(code, "InvalidArgumentException");
    assert!(message.contains("BufferSizeInMBs"), "{message}");
}

#[tokio::test]
async fn a_crashing_handler_sends_every_record_to_the_error_output_prefix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("crash.py"), "import os\ndef handle(event, context):\n    os._exit(3)\n")
        .unwrap();
    let h = harness_with_python("upper", dir.path(), "crash:handle").await;
    h.s3.create_bucket().bucket("transformed").send().await.unwrap();
    let mut destination = destination(
        "transformed",
        &[
            (ProcessorParameterName::LambdaArn, ARN),
            (ProcessorParameterName::BufferIntervalInSeconds, "0"),
            (ProcessorParameterName::LambdaNumberOfRetries, "1"),
        ],
    );
    destination.error_output_prefix = Some("errors/!{firehose:error-output-type}/".to_owned());
    h.firehose
        .create_delivery_stream()
        .delivery_stream_name("ds")
        .extended_s3_destination_configuration(destination)
        .send()
        .await
        .unwrap();
    let records: Vec<Record> =
        ["a", "b"].iter().map(|d| Record::builder().data(Blob::new(*d)).build().unwrap()).collect();
    h.firehose.put_record_batch().delivery_stream_name("ds").set_records(Some(records)).send().await.unwrap();

    let objects = eventually("the error object", Duration::from_secs(20), || async {
        let objects = h.objects("transformed").await;
        (!objects.is_empty()).then_some(objects)
    })
    .await;
    let [(key, body)] = &objects[..] else { panic!("{objects:?}") };
    assert!(key.starts_with("errors/processing-failed/"), "{key}");
    let documents: Vec<serde_json::Value> = body
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).unwrap())
        .collect();
    assert_eq!(documents.len(), 2);
    for document in &documents {
        assert_eq!(document["errorCode"], "Lambda.FunctionError");
        assert_eq!(document["attemptsMade"], 2);
        assert!(document["errorMessage"].as_str().unwrap().contains("exited"), "{document}");
    }
    assert_eq!(h.emulator.transform_log().len(), 2);
}
