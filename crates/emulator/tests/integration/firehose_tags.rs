//! Delivery stream tags, as provisioning tools set and read them: CreateDeliveryStream's `Tags`,
//! TagDeliveryStream, ListTagsForDeliveryStream (paged) and UntagDeliveryStream.

use aws_sdk_firehose::error::ProvideErrorMetadata as _;
use aws_sdk_firehose::types::{ExtendedS3DestinationConfiguration, Tag};

use crate::common::Harness;

const ROLE: &str = "arn:aws:iam::000000000000:role/firehose";

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

#[tokio::test]
async fn tags_given_at_creation_are_listed_added_paged_and_removed() {
    let h = Harness::start().await;
    h.s3.create_bucket().bucket("tagged").send().await.unwrap();
    let destination = ExtendedS3DestinationConfiguration::builder()
        .role_arn(ROLE)
        .bucket_arn("arn:aws:s3:::tagged")
        .build()
        .unwrap();
    h.firehose
        .create_delivery_stream()
        .delivery_stream_name("tagged")
        .extended_s3_destination_configuration(destination)
        .tags(tag("team", "logs"))
        .send()
        .await
        .unwrap();
    h.firehose
        .tag_delivery_stream()
        .delivery_stream_name("tagged")
        .tags(tag("env", "ci"))
        .send()
        .await
        .unwrap();
    let page =
        h.firehose.list_tags_for_delivery_stream().delivery_stream_name("tagged").limit(1).send().await;
    let page = page.unwrap();
    assert_eq!(page.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>(), [("env", Some("ci"))]);
    assert!(page.has_more_tags());
    let rest = h
        .firehose
        .list_tags_for_delivery_stream()
        .delivery_stream_name("tagged")
        .exclusive_start_tag_key("env")
        .send()
        .await
        .unwrap();
    assert_eq!(rest.tags().iter().map(|t| t.key()).collect::<Vec<_>>(), ["team"]);
    assert!(!rest.has_more_tags());

    h.firehose.untag_delivery_stream().delivery_stream_name("tagged").tag_keys("team").send().await.unwrap();
    let left =
        h.firehose.list_tags_for_delivery_stream().delivery_stream_name("tagged").send().await.unwrap();
    assert_eq!(left.tags().iter().map(|t| t.key()).collect::<Vec<_>>(), ["env"]);

    let mut over = h.firehose.tag_delivery_stream().delivery_stream_name("tagged");
    for i in 0..50 {
        over = over.tags(tag(&format!("k{i}"), "v"));
    }
    assert_eq!(over.send().await.unwrap_err().code(), Some("LimitExceededException"), "50 new beside env");
    let missing = h.firehose.list_tags_for_delivery_stream().delivery_stream_name("absent").send().await;
    assert_eq!(missing.unwrap_err().code(), Some("ResourceNotFoundException"));
}
