//! A delivery stream's Direct PUT quotas through aws-sdk-firehose: entries beyond 5 MiB per second
//! fail one by one with `ServiceUnavailableException`, and only the accepted ones are delivered.

use std::time::Duration;

use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::Record;
use emulator::EmulatorConfig;

use crate::common::{Harness, eventually, extended_s3};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_beyond_the_bytes_quota_fail_per_entry_and_are_not_delivered() {
    // One emulated second lasts a thousand wall seconds: both calls land in the same second.
    let h = Harness::with_config(EmulatorConfig { time_scale: 0.001, ..EmulatorConfig::default() }).await;
    h.s3.create_bucket().bucket("quota").send().await.unwrap();
    h.firehose
        .create_delivery_stream()
        .delivery_stream_name("quota-ds")
        .extended_s3_destination_configuration(extended_s3("quota", 128, 0))
        .send()
        .await
        .unwrap();
    // 2 × 400 records of 10,000 bytes: 8,000,000 bytes against 5 MiB (5,242,880) per second in
    // us-east-1, so 524 fit and 276 do not.
    let batch = || -> Vec<Record> {
        (0..400).map(|_| Record::builder().data(Blob::new(vec![b'x'; 10_000])).build().unwrap()).collect()
    };
    let mut failed = Vec::new();
    for _ in 0..2 {
        let put = h
            .firehose
            .put_record_batch()
            .delivery_stream_name("quota-ds")
            .set_records(Some(batch()))
            .send()
            .await
            .unwrap();
        let responses = put.request_responses();
        assert_eq!(responses.len(), 400);
        let refused: Vec<usize> = responses
            .iter()
            .enumerate()
            .filter(|(_, r)| r.error_code().is_some())
            .map(|(index, r)| {
                assert_eq!(r.error_code(), Some("ServiceUnavailableException"));
                assert!(r.record_id().is_none());
                index
            })
            .collect();
        assert_eq!(put.failed_put_count() as usize, refused.len());
        failed.push(refused);
    }
    assert!(failed[0].is_empty(), "the first 4,000,000 bytes fit: {:?}", failed[0]);
    assert_eq!(failed[1], (124..400).collect::<Vec<_>>(), "entries past 5 MiB fail, in order");

    let delivered = eventually("the accepted records", Duration::from_secs(10), || async {
        let bytes: usize = h.objects("quota").await.iter().map(|(_, data)| data.len()).sum();
        (bytes >= 524 * 10_000).then_some(bytes)
    })
    .await;
    assert_eq!(delivered, 524 * 10_000);
}
