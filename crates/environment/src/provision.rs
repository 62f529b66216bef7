//! Provisioning a scenario's resources through the AWS SDK, with readiness waited on, and teardown.

use std::time::{Duration, Instant};

use aws_sdk_firehose::types::{
    AmazonopensearchserviceBufferingHints, AmazonopensearchserviceDestinationConfiguration,
    AmazonopensearchserviceIndexRotationPeriod, AmazonopensearchserviceRetryOptions,
    AmazonopensearchserviceS3BackupMode, BufferingHints, CompressionFormat, DeliveryStreamStatus,
    DeliveryStreamType, ElasticsearchBufferingHints, ElasticsearchDestinationConfiguration,
    ElasticsearchIndexRotationPeriod, ElasticsearchRetryOptions, ElasticsearchS3BackupMode,
    ExtendedS3DestinationConfiguration, KinesisStreamSourceConfiguration, ProcessingConfiguration, Processor,
    ProcessorParameter, ProcessorParameterName, ProcessorType, S3DestinationConfiguration,
};
use aws_sdk_kinesis::types::StreamStatus;
use scenario::{
    Compression, Delimiter, IndexRotation, Pipeline, Scenario, SearchDestination, SearchService, Source,
};

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
    /// `!{...}` expression (empty for Firehose's default time prefix). With a search destination,
    /// the S3 backup's prefix.
    pub prefix: String,
    /// The search destination's cluster and index, for a `[pipeline.opensearch]` or
    /// `[pipeline.elasticsearch]` scenario.
    pub search: Option<ProvisionedSearch>,
}

/// Where a run's documents are indexed, and where Firehose backs the failed ones up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedSearch {
    pub service: SearchService,
    /// The cluster's REST base URL: the embedded emulator's in-process domain, or the scenario's
    /// `endpoint`.
    pub endpoint: String,
    /// The index the delivery stream was given: `<index>-<run id>` (see
    /// [`SearchDestination::run_index`]).
    pub index: String,
    /// Whether Firehose rotates the index (it then writes to `<index>-<period>` indexes).
    pub rotation: bool,
    /// S3 key prefix of failed documents: `<prefix>AmazonOpenSearchService-failed/` or
    /// `<prefix>elasticsearch-failed/`.
    pub failed_prefix: String,
}

impl ProvisionedSearch {
    /// The index, or with rotation the pattern of the rotated indexes (`<index>-*`).
    pub fn index_pattern(&self) -> String {
        if self.rotation { format!("{}-*", self.index) } else { self.index.clone() }
    }
}

/// The `DomainARN` of the embedded emulator's in-process search domain `domain` in `region`.
pub fn search_domain_arn(region: &str, domain: &str) -> String {
    format!("arn:aws:es:{region}:000000000000:domain/{domain}")
}

/// A resource name unique to the run: `sp-<scenario>-<run id>`, at most 64 characters.
pub fn resource_name(scenario: &Scenario, run_id: &str) -> String {
    let mut name = format!("sp-{}-{run_id}", scenario.name);
    name.truncate(64);
    name
}

/// Creates the scenario's bucket (if missing), stream and delivery stream, and waits until each is
/// ACTIVE, giving up after `deadline` per resource. A search destination must name an existing
/// cluster (`endpoint`) here; [`crate::Environment::provision`] also reaches the embedded
/// emulator's in-process domains.
pub async fn provision(
    clients: &Clients,
    scenario: &Scenario,
    run_id: &str,
    deadline: Duration,
) -> Result<Provisioned, EnvError> {
    provision_with(clients, scenario, run_id, deadline, None).await
}

/// [`provision`], with the REST URL of the in-process search domain the scenario names when the
/// backend has one.
pub(crate) async fn provision_with(
    clients: &Clients,
    scenario: &Scenario,
    run_id: &str,
    deadline: Duration,
    domain_endpoint: Option<String>,
) -> Result<Provisioned, EnvError> {
    let pipeline = &scenario.pipeline;
    let name = resource_name(scenario, run_id);
    let search = match &pipeline.search {
        Some(search) => {
            let endpoint = match (&search.endpoint, domain_endpoint) {
                (Some(endpoint), _) => endpoint.clone(),
                (None, Some(endpoint)) => endpoint,
                (None, None) => return Err(EnvError::NoSearchDomain { domain: search.domain.clone() }),
            };
            wait_for_cluster(&endpoint, deadline).await?;
            Some(ProvisionedSearch {
                service: search.service,
                endpoint,
                index: search.run_index(run_id),
                rotation: search.rotation != IndexRotation::NoRotation,
                failed_prefix: search.service.failed_prefix(pipeline.prefix.configured().unwrap_or_default()),
            })
        }
        None => None,
    };
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

    let mut create = clients.firehose.create_delivery_stream().delivery_stream_name(&name);
    create = match (&pipeline.search, &search) {
        (Some(destination), Some(provisioned)) => {
            let region = clients.firehose.config().region().map_or("us-east-1", |region| region.as_ref());
            // The in-process domain by ARN; an existing cluster by its URL.
            let (domain_arn, cluster_endpoint) = match &destination.endpoint {
                Some(endpoint) => (None, Some(endpoint.clone())),
                None => (Some(search_domain_arn(region, &destination.domain)), None),
            };
            let backup = s3_backup(pipeline);
            let target =
                SearchTarget { destination, index: &provisioned.index, domain_arn, cluster_endpoint };
            match destination.service {
                SearchService::OpenSearch => create
                    .amazonopensearchservice_destination_configuration(opensearch(pipeline, target, backup)),
                SearchService::Elasticsearch => {
                    create.elasticsearch_destination_configuration(elasticsearch(pipeline, target, backup))
                }
            }
        }
        _ => create.extended_s3_destination_configuration(s3_destination(clients, scenario)),
    };
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
        prefix: pipeline.listing_prefix(),
        search,
    })
}

/// The S3 destination of a pipeline without a search destination.
fn s3_destination(clients: &Clients, scenario: &Scenario) -> ExtendedS3DestinationConfiguration {
    let pipeline = &scenario.pipeline;
    ExtendedS3DestinationConfiguration::builder()
        .role_arn(FIREHOSE_ROLE_ARN)
        .bucket_arn(format!("arn:aws:s3:::{}", pipeline.bucket))
        .set_prefix(pipeline.prefix.configured().map(str::to_owned))
        .set_error_output_prefix(pipeline.error_output_prefix.configured().map(str::to_owned))
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
        .expect("role and bucket ARNs are set")
}

/// The `S3Configuration` of a search destination: the backup bucket, prefix, buffering and compression.
fn s3_backup(pipeline: &Pipeline) -> S3DestinationConfiguration {
    S3DestinationConfiguration::builder()
        .role_arn(FIREHOSE_ROLE_ARN)
        .bucket_arn(format!("arn:aws:s3:::{}", pipeline.bucket))
        .set_prefix(pipeline.prefix.configured().map(str::to_owned))
        .set_error_output_prefix(pipeline.error_output_prefix.configured().map(str::to_owned))
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
        .build()
        .expect("role and bucket ARNs are set")
}

/// What a search destination's configuration names: the scenario's table, the run's index, and the
/// cluster (`DomainARN` or `ClusterEndpoint`, exactly one).
struct SearchTarget<'a> {
    destination: &'a SearchDestination,
    index: &'a str,
    domain_arn: Option<String>,
    cluster_endpoint: Option<String>,
}

/// `AmazonopensearchserviceDestinationConfiguration`.
fn opensearch(
    pipeline: &Pipeline,
    target: SearchTarget<'_>,
    backup: S3DestinationConfiguration,
) -> AmazonopensearchserviceDestinationConfiguration {
    let destination = target.destination;
    AmazonopensearchserviceDestinationConfiguration::builder()
        .role_arn(FIREHOSE_ROLE_ARN)
        .set_domain_arn(target.domain_arn)
        .set_cluster_endpoint(target.cluster_endpoint)
        .index_name(target.index)
        .index_rotation_period(AmazonopensearchserviceIndexRotationPeriod::from(
            destination.rotation.as_str(),
        ))
        .buffering_hints(
            AmazonopensearchserviceBufferingHints::builder()
                .size_in_mbs(pipeline.buffering.size_mb as i32)
                .interval_in_seconds(pipeline.buffering.interval_seconds as i32)
                .build(),
        )
        .retry_options(
            AmazonopensearchserviceRetryOptions::builder()
                .duration_in_seconds(destination.retry_seconds as i32)
                .build(),
        )
        .s3_backup_mode(AmazonopensearchserviceS3BackupMode::from(destination.backup_mode.as_str()))
        .s3_configuration(backup)
        .build()
        .expect("role, index and S3 configuration are set")
}

/// `ElasticsearchDestinationConfiguration`.
fn elasticsearch(
    pipeline: &Pipeline,
    target: SearchTarget<'_>,
    backup: S3DestinationConfiguration,
) -> ElasticsearchDestinationConfiguration {
    let destination = target.destination;
    ElasticsearchDestinationConfiguration::builder()
        .role_arn(FIREHOSE_ROLE_ARN)
        .set_domain_arn(target.domain_arn)
        .set_cluster_endpoint(target.cluster_endpoint)
        .index_name(target.index)
        .set_type_name(destination.type_name.clone())
        .index_rotation_period(ElasticsearchIndexRotationPeriod::from(destination.rotation.as_str()))
        .buffering_hints(
            ElasticsearchBufferingHints::builder()
                .size_in_mbs(pipeline.buffering.size_mb as i32)
                .interval_in_seconds(pipeline.buffering.interval_seconds as i32)
                .build(),
        )
        .retry_options(
            ElasticsearchRetryOptions::builder()
                .duration_in_seconds(destination.retry_seconds as i32)
                .build(),
        )
        .s3_backup_mode(ElasticsearchS3BackupMode::from(destination.backup_mode.as_str()))
        .s3_configuration(backup)
        .build()
        .expect("role, index and S3 configuration are set")
}

/// Waits until the search cluster at `endpoint` answers `GET /`.
async fn wait_for_cluster(endpoint: &str, deadline: Duration) -> Result<(), EnvError> {
    let mut poll = Poll::new(deadline);
    loop {
        match crate::search::answers(endpoint).await {
            Ok(()) => return Ok(()),
            Err(last) => poll.wait(format!("search cluster {endpoint}"), "reachable", &last).await?,
        }
    }
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

/// Deletes the run's delivery stream, stream and index. The bucket and its objects stay: they are
/// the evidence.
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
    if let Some(search) = &provisioned.search {
        crate::search::delete_index(&search.endpoint, &search.index_pattern()).await?;
    }
    Ok(())
}

/// Creates `bucket` in the clients' region: outside us-east-1 S3 needs that region as the
/// LocationConstraint (CreateBucket), and refuses the request without it.
async fn create_bucket(clients: &Clients, bucket: &str) -> Result<(), EnvError> {
    let region = clients.s3.config().region().map(|region| region.as_ref().to_owned());
    let configuration = region.filter(|region| region != "us-east-1").map(|region| {
        aws_sdk_s3::types::CreateBucketConfiguration::builder()
            .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region.as_str()))
            .build()
    });
    let request = clients.s3.create_bucket().bucket(bucket).set_create_bucket_configuration(configuration);
    match request.send().await {
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
/// How long LocalStack's Kinesis engine may take to answer its first request.
pub(crate) const WARM_UP_DEADLINE: Duration = Duration::from_secs(60);

/// Waits until the backend's Kinesis answers `ListStreams`. LocalStack starts its Kinesis engine
/// (kinesis-mock, a process of its own) on the first Kinesis request, and requests that arrive while
/// it starts fail with `InternalError` ("Connection refused"): without this, two runs sharing a
/// fresh LocalStack race there.
pub(crate) async fn warm_up(clients: &Clients, deadline: Duration) -> Result<(), EnvError> {
    let mut poll = Poll::new(deadline);
    loop {
        match clients.kinesis.list_streams().send().await {
            Ok(_) => return Ok(()),
            Err(error) => {
                let last = aws_error::line("ListStreams", &error);
                poll.wait("the backend's Kinesis".into(), "answering ListStreams", &last).await?;
            }
        }
    }
}

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
