//! Changing a running delivery stream through aws-sdk-firehose: UpdateDestination (version ids,
//! merged updates, objects named by the new version), CloudWatchLoggingOptions described back, and
//! Start/StopDeliveryStreamEncryption with their transitional states.

use std::time::Duration;

use aws_sdk_firehose::error::ProvideErrorMetadata as _;
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::{
    CloudWatchLoggingOptions, DeliveryStreamDescription, DeliveryStreamEncryptionConfigurationInput,
    DeliveryStreamEncryptionStatus, ExtendedS3DestinationUpdate, KeyType, Record,
};
use emulator::EmulatorConfig;

use crate::common::{Harness, eventually, extended_s3};

async fn describe(h: &Harness, name: &str) -> DeliveryStreamDescription {
    let out = h.firehose.describe_delivery_stream().delivery_stream_name(name).send().await.unwrap();
    out.delivery_stream_description().unwrap().clone()
}

async fn put(h: &Harness, name: &str, data: &str) -> bool {
    let record = Record::builder().data(Blob::new(data)).build().unwrap();
    let out = h.firehose.put_record().delivery_stream_name(name).record(record).send().await.unwrap();
    out.encrypted().unwrap_or(false)
}

/// The one object in `bucket`, once it is there.
async fn object(h: &Harness, bucket: &str) -> (String, Vec<u8>) {
    eventually(&format!("an object in {bucket}"), Duration::from_secs(30), || async {
        let mut objects = h.objects(bucket).await;
        (objects.len() == 1).then(|| objects.remove(0))
    })
    .await
}

#[tokio::test]
async fn update_destination_merges_the_update_and_names_new_objects_by_the_next_version() {
    let h = Harness::start().await;
    for bucket in ["before", "after"] {
        h.s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let logging = CloudWatchLoggingOptions::builder()
        .enabled(true)
        .log_group_name("/aws/firehose/up")
        .log_stream_name("S3Delivery")
        .build();
    let mut destination = extended_s3("before", 1, 0);
    destination.prefix = Some("v1/".to_owned());
    destination.cloud_watch_logging_options = Some(logging.clone());
    h.firehose
        .create_delivery_stream()
        .delivery_stream_name("up")
        .extended_s3_destination_configuration(destination)
        .send()
        .await
        .unwrap();
    let described = describe(&h, "up").await;
    assert_eq!(described.version_id(), "1");
    let s3 = described.destinations()[0].extended_s3_destination_description().unwrap();
    assert_eq!(s3.cloud_watch_logging_options(), Some(&logging), "logging options described as given");
    let destination_id = described.destinations()[0].destination_id().to_owned();
    put(&h, "up", "first").await;
    let (key, data) = object(&h, "before").await;
    assert!(key.starts_with("v1/") && key.contains("/up-1-"), "{key}");
    assert_eq!(data, b"first");

    let update =
        ExtendedS3DestinationUpdate::builder().bucket_arn("arn:aws:s3:::after").prefix("v2/").build();
    let stale = h
        .firehose
        .update_destination()
        .delivery_stream_name("up")
        .current_delivery_stream_version_id("7")
        .destination_id(&destination_id)
        .extended_s3_destination_update(update.clone())
        .send()
        .await;
    assert_eq!(stale.unwrap_err().code(), Some("ConcurrentModificationException"));
    let unknown = h
        .firehose
        .update_destination()
        .delivery_stream_name("up")
        .current_delivery_stream_version_id("1")
        .destination_id("destinationId-000000000009")
        .extended_s3_destination_update(update.clone())
        .send()
        .await;
    assert_eq!(unknown.unwrap_err().code(), Some("InvalidArgumentException"));
    h.firehose
        .update_destination()
        .delivery_stream_name("up")
        .current_delivery_stream_version_id("1")
        .destination_id(&destination_id)
        .extended_s3_destination_update(update)
        .send()
        .await
        .unwrap();

    let described = describe(&h, "up").await;
    assert_eq!(described.version_id(), "2");
    assert!(described.last_update_timestamp().is_some());
    let s3 = described.destinations()[0].extended_s3_destination_description().unwrap();
    assert_eq!((s3.bucket_arn(), s3.prefix()), ("arn:aws:s3:::after", Some("v2/")));
    let hints = s3.buffering_hints().unwrap();
    assert_eq!((hints.size_in_mbs(), hints.interval_in_seconds()), (Some(1), Some(0)), "kept by the merge");
    assert_eq!(s3.cloud_watch_logging_options(), Some(&logging), "kept by the merge");
    put(&h, "up", "second").await;
    let (key, data) = object(&h, "after").await;
    assert!(key.starts_with("v2/") && key.contains("/up-2-"), "{key}");
    assert_eq!(data, b"second");
    assert_eq!(h.objects("before").await.len(), 1, "nothing more went to the old bucket");
}

#[tokio::test]
async fn encryption_is_enabling_then_enabled_and_disabling_then_disabled_in_emulator_time() {
    // One emulated second lasts a tenth of a wall millisecond; the test reads the emulator clock
    // around each call, so its outcome holds however slow the machine is.
    let h = Harness::with_config(EmulatorConfig { time_scale: 10_000.0, ..EmulatorConfig::default() }).await;
    h.s3.create_bucket().bucket("sealed").send().await.unwrap();
    h.firehose
        .create_delivery_stream()
        .delivery_stream_name("sealed")
        .extended_s3_destination_configuration(extended_s3("sealed", 1, 60))
        .send()
        .await
        .unwrap();
    let status = |d: &DeliveryStreamDescription| {
        d.delivery_stream_encryption_configuration().unwrap().status().cloned()
    };
    assert_eq!(status(&describe(&h, "sealed").await), Some(DeliveryStreamEncryptionStatus::Disabled));
    assert!(!put(&h, "sealed", "plain").await);

    let customer = DeliveryStreamEncryptionConfigurationInput::builder()
        .key_type(KeyType::CustomerManagedCmk)
        .build()
        .unwrap();
    let refused = h
        .firehose
        .start_delivery_stream_encryption()
        .delivery_stream_name("sealed")
        .delivery_stream_encryption_configuration_input(customer)
        .send()
        .await;
    assert_eq!(refused.unwrap_err().code(), Some("InvalidArgumentException"), "a customer key needs its ARN");

    let clock = h.emulator.clock();
    let transition = time::Duration::seconds(1);
    for (start, changing, settled) in [
        (true, DeliveryStreamEncryptionStatus::Enabling, DeliveryStreamEncryptionStatus::Enabled),
        (false, DeliveryStreamEncryptionStatus::Disabling, DeliveryStreamEncryptionStatus::Disabled),
    ] {
        let before = clock.now();
        if start {
            h.firehose
                .start_delivery_stream_encryption()
                .delivery_stream_name("sealed")
                .send()
                .await
                .unwrap();
        } else {
            h.firehose.stop_delivery_stream_encryption().delivery_stream_name("sealed").send().await.unwrap();
        }
        let after = clock.now();
        loop {
            let asked = clock.now();
            let described = describe(&h, "sealed").await;
            let answered = clock.now();
            let now = status(&described).unwrap();
            if now == settled {
                assert!(answered >= before + transition, "{settled:?} within a second of the change");
                break;
            }
            assert_eq!(now, changing);
            assert!(asked <= after + transition, "still {changing:?} over a second after the change");
        }
        let described = describe(&h, "sealed").await;
        let key_type = described.delivery_stream_encryption_configuration().unwrap().key_type().cloned();
        assert_eq!(key_type, start.then_some(KeyType::AwsOwnedCmk));
        assert_eq!(put(&h, "sealed", "data").await, start, "PutRecord reports Encrypted while it is on");
    }
}
