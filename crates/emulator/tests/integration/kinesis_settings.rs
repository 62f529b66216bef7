//! The Kinesis settings operations provisioning tools call (Terraform's AWS provider, CloudFormation,
//! CDK): tags, retention, enhanced monitoring, encryption, capacity mode and limits, through
//! aws-sdk-kinesis, held to the Kinesis API reference.

use aws_sdk_kinesis::error::ProvideErrorMetadata as _;
use aws_sdk_kinesis::types::{EncryptionType, MetricsName, ShardIteratorType, StreamMode, StreamModeDetails};

use crate::common::Harness;

#[tokio::test]
async fn tags_are_added_listed_in_pages_and_removed_by_name_or_arn() {
    let h = Harness::start().await;
    let arn = h.create_stream("tagged", 1).await;
    h.kinesis
        .add_tags_to_stream()
        .stream_name("tagged")
        .tags("team", "logs")
        .tags("env", "ci")
        .send()
        .await
        .unwrap();
    let page = h.kinesis.list_tags_for_stream().stream_name("tagged").limit(1).send().await.unwrap();
    let keys: Vec<&str> = page.tags().iter().map(|tag| tag.key()).collect();
    assert_eq!((keys, page.has_more_tags()), (vec!["env"], true));
    let rest = h.kinesis.list_tags_for_stream().stream_name("tagged").exclusive_start_tag_key("env").send();
    let rest = rest.await.unwrap();
    assert_eq!(
        rest.tags().iter().map(|tag| (tag.key(), tag.value())).collect::<Vec<_>>(),
        [("team", Some("logs"))]
    );
    assert!(!rest.has_more_tags());

    h.kinesis.tag_resource().resource_arn(&arn).tags("owner", "platform").send().await.unwrap();
    let all = h.kinesis.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert_eq!(all.tags().len(), 3);
    h.kinesis.remove_tags_from_stream().stream_name("tagged").tag_keys("env").send().await.unwrap();
    h.kinesis.untag_resource().resource_arn(&arn).tag_keys("owner").send().await.unwrap();
    let left = h.kinesis.list_tags_for_stream().stream_name("tagged").send().await.unwrap();
    assert_eq!(left.tags().iter().map(|tag| tag.key()).collect::<Vec<_>>(), ["team"]);

    // 50 tags at most: 49 more fit beside "team", one more does not.
    for batch in 0..5 {
        let mut add = h.kinesis.add_tags_to_stream().stream_name("tagged");
        for i in 0..10 {
            if batch * 10 + i < 49 {
                add = add.tags(format!("k{}", batch * 10 + i), "v");
            }
        }
        add.send().await.unwrap();
    }
    let over = h.kinesis.add_tags_to_stream().stream_name("tagged").tags("one-too-many", "v").send().await;
    assert_eq!(over.unwrap_err().code(), Some("LimitExceededException"));
    let missing = h.kinesis.list_tags_for_stream().stream_name("absent").send().await.unwrap_err();
    assert_eq!(missing.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn retention_is_increased_and_decreased_within_its_bounds_and_reported() {
    let h = Harness::start().await;
    h.create_stream("kept", 1).await;
    let retention = |h: &Harness| {
        let call = h.kinesis.describe_stream_summary().stream_name("kept").send();
        async move { call.await.unwrap().stream_description_summary().unwrap().retention_period_hours() }
    };
    assert_eq!(retention(&h).await, 24);
    h.kinesis
        .increase_stream_retention_period()
        .stream_name("kept")
        .retention_period_hours(168)
        .send()
        .await
        .unwrap();
    assert_eq!(retention(&h).await, 168);
    let shorter =
        h.kinesis.increase_stream_retention_period().stream_name("kept").retention_period_hours(48).send();
    assert_eq!(shorter.await.unwrap_err().code(), Some("InvalidArgumentException"));
    let longer =
        h.kinesis.decrease_stream_retention_period().stream_name("kept").retention_period_hours(200).send();
    assert_eq!(longer.await.unwrap_err().code(), Some("InvalidArgumentException"));
    let too_short =
        h.kinesis.decrease_stream_retention_period().stream_name("kept").retention_period_hours(12).send();
    assert_eq!(too_short.await.unwrap_err().code(), Some("InvalidArgumentException"));
    h.kinesis
        .decrease_stream_retention_period()
        .stream_name("kept")
        .retention_period_hours(24)
        .send()
        .await
        .unwrap();
    assert_eq!(retention(&h).await, 24);
}

#[tokio::test]
async fn monitoring_encryption_and_mode_are_kept_and_described() {
    let h = Harness::start().await;
    let arn = h.create_stream("configured", 2).await;
    let enabled = h
        .kinesis
        .enable_enhanced_monitoring()
        .stream_name("configured")
        .shard_level_metrics(MetricsName::IncomingBytes)
        .send()
        .await
        .unwrap();
    assert!(enabled.current_shard_level_metrics().is_empty());
    assert_eq!(enabled.desired_shard_level_metrics(), [MetricsName::IncomingBytes]);
    let all = h
        .kinesis
        .enable_enhanced_monitoring()
        .stream_name("configured")
        .shard_level_metrics(MetricsName::All);
    assert_eq!(all.send().await.unwrap().desired_shard_level_metrics().len(), 7);
    let disabled = h
        .kinesis
        .disable_enhanced_monitoring()
        .stream_name("configured")
        .shard_level_metrics(MetricsName::All)
        .send()
        .await
        .unwrap();
    assert!(disabled.desired_shard_level_metrics().is_empty());

    h.kinesis
        .start_stream_encryption()
        .stream_name("configured")
        .encryption_type(EncryptionType::Kms)
        .key_id("alias/aws/kinesis")
        .send()
        .await
        .unwrap();
    let summary = h.kinesis.describe_stream_summary().stream_name("configured").send().await.unwrap();
    let summary = summary.stream_description_summary().unwrap();
    assert_eq!(
        (summary.encryption_type(), summary.key_id()),
        (Some(&EncryptionType::Kms), Some("alias/aws/kinesis"))
    );
    // Writes report the encryption they got, and each record keeps the encryption it was written with.
    let put = |data: &'static str| {
        h.kinesis
            .put_record()
            .stream_name("configured")
            .partition_key("k")
            .explicit_hash_key("0")
            .data(data.as_bytes().to_vec().into())
            .send()
    };
    assert_eq!(put("sealed").await.unwrap().encryption_type(), Some(&EncryptionType::Kms));
    h.kinesis
        .stop_stream_encryption()
        .stream_name("configured")
        .encryption_type(EncryptionType::Kms)
        .key_id("alias/aws/kinesis")
        .send()
        .await
        .unwrap();
    let summary = h.kinesis.describe_stream_summary().stream_name("configured").send().await.unwrap();
    assert_eq!(summary.stream_description_summary().unwrap().encryption_type(), Some(&EncryptionType::None));
    assert_eq!(put("plain").await.unwrap().encryption_type(), Some(&EncryptionType::None));
    let iterator = h.iterator("configured", "shardId-000000000000", ShardIteratorType::TrimHorizon).await;
    let records = h.kinesis.get_records().shard_iterator(iterator).send().await.unwrap();
    let encryption: Vec<_> = records.records().iter().map(|r| r.encryption_type()).collect();
    assert_eq!(encryption, [Some(&EncryptionType::Kms), None]);

    let on_demand = StreamModeDetails::builder().stream_mode(StreamMode::OnDemand).build().unwrap();
    h.kinesis
        .update_stream_mode()
        .stream_arn(&arn)
        .stream_mode_details(on_demand.clone())
        .send()
        .await
        .unwrap();
    let again = h.kinesis.update_stream_mode().stream_arn(&arn).stream_mode_details(on_demand).send().await;
    assert_eq!(again.unwrap_err().code(), Some("InvalidArgumentException"));
    let limits = h.kinesis.describe_limits().send().await.unwrap();
    assert_eq!(
        (limits.shard_limit(), limits.open_shard_count(), limits.on_demand_stream_count()),
        (500, 2, 1)
    );
}
