//! Provisioning a scenario's resources through the AWS SDK, with readiness waited on, and teardown.

use std::time::{Duration, Instant};

use aws_sdk_firehose::types::{
    BufferingHints, CompressionFormat, DeliveryStreamStatus, DeliveryStreamType,
    ExtendedS3DestinationConfiguration, KinesisStreamSourceConfiguration, ProcessingConfiguration, Processor,
    ProcessorParameter, ProcessorParameterName, ProcessorType,
};
use aws_sdk_kinesis::types::StreamStatus;
use scenario::{Compression, Delimiter, Pipeline, Scenario, Source};

use crate::endpoint::Clients;
use crate::error::EnvError;

/// The role Firehose assumes; emulators accept any well-formed ARN.
const FIREHOSE_ROLE_ARN: &str = "arn:aws:iam::000000000000:role/streamproof-firehose";

/// The resources a run writes to and reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    /// The Kinesis stream, absent for a Direct PUT pipeline.
    pub stream_name: Option<String>,
    pub delivery_stream_name: String,
    pub bucket: String,
    /// The S3 prefix every delivered object's key starts with: the configured prefix up to its first
    /// `!{...}` expression (empty for Firehose's default time prefix).
    pub prefix: String,
}

/// A resource name unique to the run: `sp-<scenario>-<run id>`, at most 64 characters.
pub fn resource_name(scenario: &Scenario, run_id: &str) -> String {
    let mut name = format!("sp-{}-{run_id}", scenario.name);
    name.truncate(64);
    name
}

/// Creates the scenario's bucket (if missing), stream and delivery stream, and waits until each is
/// ACTIVE, giving up after `deadline` per resource.
pub async fn provision(
    clients: &Clients,
    scenario: &Scenario,
    run_id: &str,
    deadline: Duration,
) -> Result<Provisioned, EnvError> {
    let pipeline = &scenario.pipeline;
    let name = resource_name(scenario, run_id);
    create_bucket(clients, &pipeline.bucket).await?;

    let stream_name = match pipeline.source {
        Source::KinesisStream => {
            clients
                .kinesis
                .create_stream()
                .stream_name(&name)
                .shard_count(pipeline.shards as i32)
                .send()
                .await
                .map_err(|e| EnvError::aws(format!("CreateStream {name}"), e))?;
            Some(name.clone())
        }
        Source::DirectPut => None,
    };
    let stream_arn = match &stream_name {
        Some(stream) => Some(wait_for_stream(clients, stream, deadline).await?),
        None => None,
    };

    let destination = ExtendedS3DestinationConfiguration::builder()
        .role_arn(FIREHOSE_ROLE_ARN)
        .bucket_arn(format!("arn:aws:s3:::{}", pipeline.bucket))
        .set_prefix(pipeline.prefix.clone())
        .set_error_output_prefix(pipeline.error_output_prefix.clone())
        .buffering_hints(
            BufferingHints::builder()
                .size_in_mbs(pipeline.buffering.size_mb as i32)
                .interval_in_seconds(pipeline.buffering.interval_seconds as i32)
                .build(),
        )
        .compression_format(match pipeline.compression {
            Compression::None => CompressionFormat::Uncompressed,
            Compression::Gzip => CompressionFormat::Gzip,
        })
        .set_processing_configuration(processing(pipeline, transform_processor(clients, scenario)))
        .build()
        .expect("role and bucket ARNs are set");
    let mut create = clients
        .firehose
        .create_delivery_stream()
        .delivery_stream_name(&name)
        .extended_s3_destination_configuration(destination);
    create = match &stream_arn {
        Some(arn) => create
            .delivery_stream_type(DeliveryStreamType::KinesisStreamAsSource)
            .kinesis_stream_source_configuration(
                KinesisStreamSourceConfiguration::builder()
                    .kinesis_stream_arn(arn)
                    .role_arn(FIREHOSE_ROLE_ARN)
                    .build()
                    .expect("stream and role ARNs are set"),
            ),
        None => create.delivery_stream_type(DeliveryStreamType::DirectPut),
    };
    create.send().await.map_err(|e| EnvError::aws(format!("CreateDeliveryStream {name}"), e))?;
    wait_for_delivery_stream(clients, &name, deadline).await?;

    Ok(Provisioned {
        stream_name,
        delivery_stream_name: name,
        bucket: pipeline.bucket.clone(),
        prefix: pipeline.listing_prefix().to_owned(),
    })
}

/// The Lambda function name a scenario's `[pipeline.transform]` handler is registered under.
pub fn transform_function(scenario: &Scenario) -> String {
    format!("streamproof-{}", scenario.name)
}

/// The `Lambda` processor of a scenario's `[pipeline.transform]`: the function's ARN in the
/// endpoint's region, and the processor's buffering hints and retries.
fn transform_processor(clients: &Clients, scenario: &Scenario) -> Option<Processor> {
    let transform = scenario.pipeline.transform.as_ref()?;
    let region = clients.firehose.config().region().map_or("us-east-1", |region| region.as_ref());
    let arn = format!("arn:aws:lambda:{region}:000000000000:function:{}", transform_function(scenario));
    let parameter = |name: ProcessorParameterName, value: String| {
        ProcessorParameter::builder()
            .parameter_name(name)
            .parameter_value(value)
            .build()
            .expect("the parameter's name and value are set")
    };
    let parameters = vec![
        parameter(ProcessorParameterName::LambdaArn, arn),
        parameter(ProcessorParameterName::BufferSizeInMb, transform.buffer_size_mb.to_string()),
        parameter(
            ProcessorParameterName::BufferIntervalInSeconds,
            transform.buffer_interval_seconds.to_string(),
        ),
        parameter(ProcessorParameterName::LambdaNumberOfRetries, transform.retries.to_string()),
    ];
    Some(
        Processor::builder()
            .r#type(ProcessorType::Lambda)
            .set_parameters(Some(parameters))
            .build()
            .expect("the processor type is set"),
    )
}

/// The destination's processors: the transform's `Lambda` processor, then `AppendDelimiterToRecord`
/// for a newline delimiter; none otherwise.
fn processing(pipeline: &Pipeline, lambda: Option<Processor>) -> Option<ProcessingConfiguration> {
    let mut processors: Vec<Processor> = lambda.into_iter().collect();
    if pipeline.delimiter == Delimiter::Newline {
        processors.push(
            Processor::builder()
                .r#type(ProcessorType::AppendDelimiterToRecord)
                .build()
                .expect("the processor type is set"),
        );
    }
    (!processors.is_empty())
        .then(|| ProcessingConfiguration::builder().enabled(true).set_processors(Some(processors)).build())
}

/// Deletes the run's delivery stream and stream. The bucket and its objects stay: they are the evidence.
pub async fn teardown(clients: &Clients, provisioned: &Provisioned) -> Result<(), EnvError> {
    let name = &provisioned.delivery_stream_name;
    clients
        .firehose
        .delete_delivery_stream()
        .delivery_stream_name(name)
        .send()
        .await
        .map_err(|e| EnvError::aws(format!("DeleteDeliveryStream {name}"), e))?;
    if let Some(stream) = &provisioned.stream_name {
        clients
            .kinesis
            .delete_stream()
            .stream_name(stream)
            .send()
            .await
            .map_err(|e| EnvError::aws(format!("DeleteStream {stream}"), e))?;
    }
    Ok(())
}

async fn create_bucket(clients: &Clients, bucket: &str) -> Result<(), EnvError> {
    match clients.s3.create_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_owned_by_you()) => Ok(()),
        Err(e) => Err(EnvError::aws(format!("CreateBucket {bucket}"), e)),
    }
}

/// Waits until the stream is ACTIVE and returns its ARN.
async fn wait_for_stream(clients: &Clients, stream: &str, deadline: Duration) -> Result<String, EnvError> {
    let mut poll = Poll::new(deadline);
    loop {
        let summary = clients
            .kinesis
            .describe_stream_summary()
            .stream_name(stream)
            .send()
            .await
            .map_err(|e| EnvError::aws(format!("DescribeStreamSummary {stream}"), e))?;
        let description = summary.stream_description_summary().ok_or_else(|| EnvError::Aws {
            operation: format!("DescribeStreamSummary {stream}"),
            message: "the response has no StreamDescriptionSummary".to_owned(),
        })?;
        if *description.stream_status() == StreamStatus::Active {
            return Ok(description.stream_arn().to_owned());
        }
        poll.wait(format!("Kinesis stream {stream}"), "ACTIVE", description.stream_status().as_str()).await?;
    }
}

async fn wait_for_delivery_stream(clients: &Clients, name: &str, deadline: Duration) -> Result<(), EnvError> {
    let mut poll = Poll::new(deadline);
    loop {
        let output = clients
            .firehose
            .describe_delivery_stream()
            .delivery_stream_name(name)
            .send()
            .await
            .map_err(|e| EnvError::aws(format!("DescribeDeliveryStream {name}"), e))?;
        let status = output.delivery_stream_description().map(|d| d.delivery_stream_status().clone());
        if status == Some(DeliveryStreamStatus::Active) {
            return Ok(());
        }
        let last = status.map_or("unknown", |s| match s {
            DeliveryStreamStatus::Creating => "CREATING",
            DeliveryStreamStatus::CreatingFailed => "CREATING_FAILED",
            _ => "not ACTIVE",
        });
        poll.wait(format!("Firehose delivery stream {name}"), "ACTIVE", last).await?;
    }
}

/// Polling with a growing interval until a deadline: the harness waiting on a condition.
struct Poll {
    started: Instant,
    deadline: Duration,
    interval: Duration,
}

impl Poll {
    fn new(deadline: Duration) -> Poll {
        Poll { started: Instant::now(), deadline, interval: Duration::from_millis(50) }
    }

    async fn wait(&mut self, what: String, wanted: &'static str, last: &str) -> Result<(), EnvError> {
        if self.started.elapsed() >= self.deadline {
            return Err(EnvError::NotReady { what, wanted, deadline: self.deadline, last: last.to_owned() });
        }
        tokio::time::sleep(self.interval).await;
        self.interval = (self.interval * 2).min(Duration::from_secs(1));
        Ok(())
    }
}
