//! CloudWatch Logs over its awsJson1_1 protocol (raw JSON, as every SDK sends it): log groups and
//! streams, PutLogEvents' ordering and time-window rules, GetLogEvents' tokens, FilterLogEvents'
//! terms, and a delivery stream's error log that CloudWatchLoggingOptions names.

use std::time::Duration;

use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::{CloudWatchLoggingOptions, Record};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use serde_json::{Value, json};

use crate::common::{Harness, eventually, extended_s3};

/// One CloudWatch Logs call: (HTTP status, JSON answer).
#[expect(clippy::disallowed_methods, reason = "the emulator's tests have no CloudWatch Logs SDK client")]
async fn logs(h: &Harness, op: &str, body: Value) -> (u16, Value) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let request = http::Request::builder()
        .method("POST")
        .uri(h.emulator.endpoint())
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("Logs_20140328.{op}"))
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = client.request(request).await.expect("the emulator answers");
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).expect("a JSON answer"))
}

async fn ok(h: &Harness, op: &str, body: Value) -> Value {
    let (status, answer) = logs(h, op, body).await;
    assert_eq!(status, 200, "{op}: {answer}");
    answer
}

fn messages(answer: &Value) -> Vec<&str> {
    answer["events"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn log_events_are_put_read_forward_and_back_and_filtered() {
    let h = Harness::start().await;
    let group = json!({"logGroupName": "/app/orders"});
    ok(&h, "CreateLogGroup", group.clone()).await;
    let (status, again) = logs(&h, "CreateLogGroup", group).await;
    assert_eq!((status, again["__type"].as_str()), (400, Some("ResourceAlreadyExistsException")));
    ok(&h, "CreateLogStream", json!({"logGroupName": "/app/orders", "logStreamName": "web-1"})).await;
    let (_, missing) =
        logs(&h, "CreateLogStream", json!({"logGroupName": "/nope", "logStreamName": "s"})).await;
    assert_eq!(missing["__type"], "ResourceNotFoundException");

    let now = h.emulator.clock().now().unix_timestamp() * 1000;
    let events: Vec<Value> = (0..5)
        .map(|i| json!({"timestamp": now + i, "message": format!("order {i} ERROR={}", i % 2)}))
        .collect();
    let mut unordered = events.clone();
    unordered.swap(0, 1);
    let (status, refused) = logs(
        &h,
        "PutLogEvents",
        json!({"logGroupName": "/app/orders", "logStreamName": "web-1", "logEvents": unordered}),
    )
    .await;
    assert_eq!((status, refused["__type"].as_str()), (400, Some("InvalidParameterException")));
    let mut with_future = events.clone();
    with_future.push(json!({"timestamp": now + 3 * 3_600_000, "message": "from the future"}));
    let put = ok(
        &h,
        "PutLogEvents",
        json!({"logGroupName": "/app/orders", "logStreamName": "web-1", "logEvents": with_future}),
    )
    .await;
    assert_eq!(put["rejectedLogEventsInfo"]["tooNewLogEventStartIndex"], 5);

    let stream =
        json!({"logGroupName": "/app/orders", "logStreamName": "web-1", "limit": 2, "startFromHead": true});
    let head = ok(&h, "GetLogEvents", stream.clone()).await;
    assert_eq!(messages(&head), ["order 0 ERROR=0", "order 1 ERROR=1"]);
    let mut next = stream.clone();
    next["nextToken"] = head["nextForwardToken"].clone();
    let second = ok(&h, "GetLogEvents", next).await;
    assert_eq!(messages(&second), ["order 2 ERROR=0", "order 3 ERROR=1"]);
    let mut back = stream.clone();
    back["nextToken"] = second["nextBackwardToken"].clone();
    assert_eq!(messages(&ok(&h, "GetLogEvents", back).await), ["order 0 ERROR=0", "order 1 ERROR=1"]);
    let tail =
        ok(&h, "GetLogEvents", json!({"logGroupName": "/app/orders", "logStreamName": "web-1", "limit": 1}))
            .await;
    assert_eq!(messages(&tail), ["order 4 ERROR=0"], "without startFromHead the latest events come back");

    let filtered =
        ok(&h, "FilterLogEvents", json!({"logGroupName": "/app/orders", "filterPattern": "order ERROR=1"}))
            .await;
    assert_eq!(messages(&filtered), ["order 1 ERROR=1", "order 3 ERROR=1"]);
    assert_eq!(filtered["events"][0]["logStreamName"], "web-1");
    let (_, json_pattern) =
        logs(&h, "FilterLogEvents", json!({"logGroupName": "/app/orders", "filterPattern": "{ $.x = 1 }"}))
            .await;
    assert_eq!(json_pattern["__type"], "InvalidParameterException", "refused, not silently matched");

    let described = ok(&h, "DescribeLogStreams", json!({"logGroupName": "/app/orders"})).await;
    assert_eq!(described["logStreams"][0]["lastEventTimestamp"], now + 4);
    let groups = ok(&h, "DescribeLogGroups", json!({"logGroupNamePrefix": "/app"})).await;
    assert_eq!(groups["logGroups"][0]["logGroupName"], "/app/orders");
}

#[tokio::test]
async fn a_delivery_stream_logs_its_delivery_errors_where_its_logging_options_say() {
    let h = Harness::start().await;
    let mut destination = extended_s3("never-created", 1, 0);
    destination.cloud_watch_logging_options = Some(
        CloudWatchLoggingOptions::builder()
            .enabled(true)
            .log_group_name("/aws/kinesisfirehose/lost")
            .log_stream_name("DestinationDelivery")
            .build(),
    );
    h.firehose
        .create_delivery_stream()
        .delivery_stream_name("lost")
        .extended_s3_destination_configuration(destination)
        .send()
        .await
        .unwrap();
    let record = Record::builder().data(Blob::new("nowhere to go")).build().unwrap();
    h.firehose.put_record().delivery_stream_name("lost").record(record).send().await.unwrap();
    let query = json!({"logGroupName": "/aws/kinesisfirehose/lost", "filterPattern": "S3.NoSuchBucket"});
    let event = eventually("a delivery error in the log", Duration::from_secs(30), || async {
        let (status, answer) = logs(&h, "FilterLogEvents", query.clone()).await;
        (status == 200)
            .then(|| answer["events"].as_array().and_then(|events| events.first().cloned()))
            .flatten()
    })
    .await;
    assert_eq!(event["logStreamName"], "DestinationDelivery");
    let logged: Value = serde_json::from_str(event["message"].as_str().unwrap()).unwrap();
    assert_eq!(logged["errorCode"], "S3.NoSuchBucket");
    assert_eq!(logged["destination"], "arn:aws:s3:::never-created");
    assert_eq!(logged["deliveryStreamARN"], "arn:aws:firehose:us-east-1:000000000000:deliverystream/lost");
    assert_eq!(logged["deliveryStreamVersionId"], 1);
}
