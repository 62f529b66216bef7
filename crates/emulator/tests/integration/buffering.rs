//! Firehose fidelity through the SDK: size-bounded objects, GZIP, the newline processor and prefix expressions.

use std::io::Read as _;
use std::time::Duration;

use aws_sdk_firehose::error::ProvideErrorMetadata as _;
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::{
    BufferingHints, CompressionFormat, ExtendedS3DestinationConfiguration, ProcessingConfiguration,
    Processor, ProcessorType, Record,
};
use emulator::EmulatorConfig;

use crate::common::{Harness, eventually};

const ROLE: &str = "arn:aws:iam::000000000000:role/firehose";
const MIB: usize = 1024 * 1024;

fn destination(bucket: &str) -> aws_sdk_firehose::types::builders::ExtendedS3DestinationConfigurationBuilder {
    ExtendedS3DestinationConfiguration::builder()
        .role_arn(ROLE)
        .bucket_arn(format!("arn:aws:s3:::{bucket}"))
        .buffering_hints(BufferingHints::builder().size_in_mbs(1).interval_in_seconds(60).build())
}

async fn create(h: &Harness, name: &str, config: ExtendedS3DestinationConfiguration) {
    h.firehose
        .create_delivery_stream()
        .delivery_stream_name(name)
        .extended_s3_destination_configuration(config)
        .send()
        .await
        .unwrap();
}

/// Puts `records` in PutRecordBatch calls of at most 4 MiB.
async fn put_all(h: &Harness, name: &str, records: &[Vec<u8>]) {
    for chunk in records.chunks(40) {
        let batch =
            chunk.iter().map(|r| Record::builder().data(Blob::new(r.clone())).build().unwrap()).collect();
        let out = h
            .firehose
            .put_record_batch()
            .delivery_stream_name(name)
            .set_records(Some(batch))
            .send()
            .await
            .unwrap();
        assert_eq!(out.failed_put_count(), 0);
    }
}

/// Waits until the objects in `bucket` hold `bytes` bytes in total (after `decode`).
async fn delivered(
    h: &Harness,
    bucket: &str,
    bytes: usize,
    decode: fn(&[u8]) -> Vec<u8>,
) -> Vec<(String, Vec<u8>)> {
    eventually("every byte in S3", Duration::from_secs(20), || async {
        let objects = h.objects(bucket).await;
        let total: usize = objects.iter().map(|(_, data)| decode(data).len()).sum();
        (total == bytes).then_some(objects)
    })
    .await
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data).read_to_end(&mut out).expect("a valid gzip stream");
    out
}

#[tokio::test]
async fn three_mib_make_at_least_three_objects_of_at_most_one_mib_plus_a_record() {
    let h = Harness::with_config(EmulatorConfig { time_scale: 60.0, ..EmulatorConfig::default() }).await;
    h.s3.create_bucket().bucket("sized").send().await.unwrap();
    create(&h, "sized", destination("sized").build().unwrap()).await;
    const RECORD: usize = 50_000;
    let records: Vec<Vec<u8>> =
        (0..3 * MIB / RECORD + 1).map(|i| vec![b'a' + (i % 26) as u8; RECORD]).collect();
    put_all(&h, "sized", &records).await;
    let objects = delivered(&h, "sized", records.len() * RECORD, |d| d.to_vec()).await;
    assert!(objects.len() >= 3, "{} objects", objects.len());
    for (key, data) in &objects {
        assert!(data.len() <= MIB + RECORD, "{key} holds {} bytes", data.len());
        assert_eq!(data.len() % RECORD, 0, "{key} splits a record");
    }
    // Objects written by size are full: at least 1 MiB each, apart from the last, flushed by interval.
    let full = objects.iter().filter(|(_, data)| data.len() >= MIB).count();
    assert!(full >= 3, "only {full} objects reached the size threshold");
}

#[tokio::test]
async fn gzip_objects_are_valid_streams_with_gz_keys_and_newline_delimited_records() {
    let h = Harness::with_config(EmulatorConfig { time_scale: 60.0, ..EmulatorConfig::default() }).await;
    h.s3.create_bucket().bucket("zipped").send().await.unwrap();
    let processors = ProcessingConfiguration::builder()
        .enabled(true)
        .processors(Processor::builder().r#type(ProcessorType::AppendDelimiterToRecord).build().unwrap())
        .build();
    let config = destination("zipped")
        .compression_format(CompressionFormat::Gzip)
        .processing_configuration(processors)
        .prefix("logs/!{timestamp:yyyy}/!{firehose:random-string}/")
        .error_output_prefix("errors/!{firehose:error-output-type}/")
        .build()
        .unwrap();
    create(&h, "zipped", config).await;
    let records: Vec<Vec<u8>> =
        (0..60).map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "z".repeat(40_000)).into_bytes()).collect();
    put_all(&h, "zipped", &records).await;
    let expected: Vec<u8> = records.iter().flat_map(|r| r.iter().copied().chain([b'\n'])).collect();
    let objects = delivered(&h, "zipped", expected.len(), gunzip).await;
    assert!(objects.len() >= 2, "{} objects", objects.len());
    let mut all = Vec::new();
    for (key, data) in &objects {
        assert!(key.ends_with(".gz"), "{key}");
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(parts.len(), 4, "{key}");
        assert_eq!(parts[0], "logs");
        assert_eq!(parts[1].len(), 4);
        assert_eq!(parts[2].len(), 11, "{key}");
        assert!(parts[3].starts_with("zipped-1-"), "{key}");
        assert_eq!(&data[..2], [0x1f, 0x8b], "{key} is not gzip");
        all.push((key.clone(), gunzip(data)));
    }
    // Keys carry the oldest record's time, so sorting by it restores the put order.
    all.sort_by(|a, b| a.0.rsplit('/').next().cmp(&b.0.rsplit('/').next()).then(a.1[..20].cmp(&b.1[..20])));
    let total: usize = all.iter().map(|(_, data)| data.len()).sum();
    assert_eq!(total, expected.len());
    for (_, data) in &all {
        assert!(data.ends_with(b"\n"));
        assert!(
            data.split(|&b| b == b'\n')
                .filter(|line| !line.is_empty())
                .all(|line| line.starts_with(b"{\"n\":"))
        );
    }

    let described =
        h.firehose.describe_delivery_stream().delivery_stream_name("zipped").send().await.unwrap();
    let extended = described.delivery_stream_description().unwrap().destinations()[0]
        .extended_s3_destination_description()
        .unwrap();
    assert_eq!(extended.compression_format(), &CompressionFormat::Gzip);
    let processing = extended.processing_configuration().unwrap();
    assert_eq!(processing.enabled(), Some(true));
    assert_eq!(processing.processors()[0].r#type(), &ProcessorType::AppendDelimiterToRecord);
}

#[tokio::test]
async fn invalid_destinations_are_refused_with_aws_errors() {
    let h = Harness::start().await;
    let cases = [
        (
            "expressions without an error prefix",
            destination("b").prefix("x/!{timestamp:yyyy}/"),
            "InvalidArgumentException",
        ),
        (
            "error-output-type in the prefix",
            destination("b").prefix("x/!{firehose:error-output-type}/").error_output_prefix("e/"),
            "InvalidArgumentException",
        ),
        (
            "SizeInMBs 129",
            destination("b")
                .buffering_hints(BufferingHints::builder().size_in_mbs(129).interval_in_seconds(60).build()),
            "ValidationException",
        ),
    ];
    for (what, destination, code) in cases {
        let err = h
            .firehose
            .create_delivery_stream()
            .delivery_stream_name("bad")
            .extended_s3_destination_configuration(destination.build().unwrap())
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert_eq!(err.code(), Some(code), "{what}: {err:?}");
    }
}

#[tokio::test]
async fn put_record_batch_limits_are_enforced() {
    let h = Harness::start().await;
    create(&h, "limits", destination("b").build().unwrap()).await;
    let record = |len: usize| Record::builder().data(Blob::new(vec![b'x'; len])).build().unwrap();
    let send = |records: Vec<Record>| {
        h.firehose.put_record_batch().delivery_stream_name("limits").set_records(Some(records)).send()
    };
    let err = send((0..501).map(|_| record(1)).collect()).await.unwrap_err().into_service_error();
    assert_eq!(err.code(), Some("ValidationException"));
    let err = send(vec![record(1000 * 1024 + 1)]).await.unwrap_err().into_service_error();
    assert_eq!(err.code(), Some("ValidationException"));
    let err = send((0..5).map(|_| record(1000 * 1024)).collect()).await.unwrap_err().into_service_error();
    assert_eq!(err.code(), Some("InvalidArgumentException"));
    let ok = send(vec![record(1000 * 1024)]).await.unwrap();
    assert_eq!(ok.failed_put_count(), 0);
}
