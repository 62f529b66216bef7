//! Environments against real backends: provisioning, readiness and teardown.
//!
//! The LocalStack tests need LocalStack host mode (`cargo xtask localstack setup`); `cargo xtask ci`
//! runs them in its LocalStack stage with `--run-ignored only`.

use std::path::Path;
use std::time::Duration;

use environment::{Backend, Environment};

fn scenario() -> scenario::Scenario {
    scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/kinesis-to-s3-small.toml"))
        .unwrap()
}

/// Whether any process still belongs to process group `pgid`, read from /proc.
fn group_alive(pgid: u32) -> bool {
    std::fs::read_dir("/proc").unwrap().filter_map(Result::ok).any(|entry| {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // Fields after the parenthesised command name: state, ppid, pgrp, ...
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        after.split_whitespace().nth(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_backend_provisions_a_kinesis_source_pipeline_and_tears_it_down() {
    let environment = Environment::start(&Backend::default()).await.unwrap();
    let clients = environment.endpoint().clients().await;
    let provisioned =
        environment::provision(&clients, &scenario(), "t1", Duration::from_secs(30)).await.unwrap();
    let stream = provisioned.stream_name.clone().expect("a Kinesis-source pipeline has a stream");
    assert_eq!(stream, "sp-kinesis-to-s3-small-t1");
    let summary = clients.kinesis.describe_stream_summary().stream_name(&stream).send().await.unwrap();
    assert_eq!(summary.stream_description_summary().unwrap().open_shard_count(), 2);
    environment::teardown(&clients, &provisioned).await.unwrap();
    let gone = clients.kinesis.describe_stream_summary().stream_name(&stream).send().await.unwrap_err();
    assert!(gone.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()), "{gone:?}");
    environment.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_destination_options_reach_the_delivery_stream() {
    let text = "[pipeline]\nsource = \"direct-put\"\nbucket = \"options\"\ncompression = \"gzip\"\n\
                delimiter = \"newline\"\nprefix = \"logs/dt=!{timestamp:yyyy-MM-dd}/\"\n\
                error_output_prefix = \"errors/!{firehose:error-output-type}/\"\n\n\
                [workload]\nevents = 1\nschema = \"clickstream\"\npartition_key = \"user_id\"\n\n[expect]\n";
    let scenario = scenario::parse(Path::new("options.toml"), text).unwrap();
    let environment = Environment::start(&Backend::default()).await.unwrap();
    let clients = environment.endpoint().clients().await;
    let provisioned =
        environment::provision(&clients, &scenario, "t3", Duration::from_secs(30)).await.unwrap();
    // The verifier lists the text before the first expression.
    assert_eq!(provisioned.prefix, "logs/dt=");
    let described = clients
        .firehose
        .describe_delivery_stream()
        .delivery_stream_name(&provisioned.delivery_stream_name)
        .send()
        .await
        .unwrap();
    let destination = described.delivery_stream_description().unwrap().destinations()[0]
        .extended_s3_destination_description()
        .unwrap()
        .clone();
    assert_eq!(destination.compression_format(), &aws_sdk_firehose::types::CompressionFormat::Gzip);
    assert_eq!(destination.prefix(), Some("logs/dt=!{timestamp:yyyy-MM-dd}/"));
    assert_eq!(destination.error_output_prefix(), Some("errors/!{firehose:error-output-type}/"));
    let processors = destination.processing_configuration().unwrap().processors();
    assert_eq!(processors.len(), 1);
    assert_eq!(processors[0].r#type(), &aws_sdk_firehose::types::ProcessorType::AppendDelimiterToRecord);
    environment::teardown(&clients, &provisioned).await.unwrap();
    environment.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs LocalStack host mode (cargo xtask localstack setup); cargo xtask ci runs it"]
async fn localstack_host_is_ready_only_when_canaries_arrive_and_leaves_nothing_behind() {
    let home = environment::default_localstack_home().unwrap();
    let environment =
        Environment::start(&Backend::LocalStackHost { home: Some(home.clone()) }).await.unwrap();
    let pgid = environment.process_id().expect("LocalStack runs as a process");
    let port: u16 = environment.endpoint().url.rsplit(':').next().unwrap().parse().unwrap();
    let run_dir = home.join("runs").join(format!("{}-{port}", std::process::id()));
    assert!(run_dir.is_dir(), "LocalStack's run directory {} exists while it runs", run_dir.display());
    assert!(group_alive(pgid));

    let clients = environment.endpoint().clients().await;
    let scenario = scenario();
    let provisioned =
        environment::provision(&clients, &scenario, "t2", Duration::from_secs(120)).await.unwrap();
    environment::prove_ready(&clients, &provisioned, "t2", "_streamproof", Duration::from_secs(120))
        .await
        .unwrap();
    // Every shard's canary is in S3 now.
    let listed = clients.s3.list_objects_v2().bucket(&provisioned.bucket).send().await.unwrap();
    assert!(listed.key_count().unwrap_or(0) >= 1);

    environment.shutdown().await;
    assert!(!group_alive(pgid), "no process of LocalStack's group {pgid} remains");
    assert!(!run_dir.exists(), "the run directory {} is removed", run_dir.display());
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("LocalStack's port is free again");
}

/// A search destination's settings reach the delivery stream as `AmazonopensearchserviceDestinationConfiguration`
/// naming the in-process domain by ARN, the run's index is unique to the run, and teardown deletes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opensearch_destination_is_provisioned_on_the_in_process_domain_and_its_index_deleted() {
    let text = "[pipeline]\nsource = \"direct-put\"\nbucket = \"search-backup\"\nprefix = \"backup/\"\n\
                [pipeline.buffering]\nsize_mb = 2\ninterval_seconds = 0\n\
                [pipeline.opensearch]\nindex = \"clicks\"\ns3_backup_mode = \"AllDocuments\"\nretry_seconds = 15\n\
                rotation = \"OneHour\"\ndomain = \"logs\"\n\n\
                [workload]\nevents = 1\nschema = \"clickstream\"\npartition_key = \"user_id\"\n\n[expect]\n";
    let scenario = scenario::parse(Path::new("search.toml"), text).unwrap();
    let environment = Environment::start(&Backend::default()).await.unwrap();
    let clients = environment.endpoint().clients().await;

    // Without the environment there is no in-process domain to name.
    let error = environment::provision(&clients, &scenario, "T4", Duration::from_secs(30)).await.unwrap_err();
    assert!(matches!(error, environment::EnvError::NoSearchDomain { .. }), "{error}");

    let provisioned =
        environment.provision(&clients, &scenario, "T4", Duration::from_secs(30)).await.unwrap();
    let search = provisioned.search.clone().expect("a search destination");
    assert_eq!(search.index, "clicks-t4");
    assert_eq!(search.index_pattern(), "clicks-t4-*");
    assert_eq!(search.failed_prefix, "backup/AmazonOpenSearchService-failed/");
    assert_eq!(Some(search.endpoint.clone()), environment.search_endpoint("logs"));
    assert_eq!(provisioned.prefix, "backup/");

    let described = clients
        .firehose
        .describe_delivery_stream()
        .delivery_stream_name(&provisioned.delivery_stream_name)
        .send()
        .await
        .unwrap();
    let destination = described.delivery_stream_description().unwrap().destinations()[0]
        .amazonopensearchservice_destination_description()
        .expect("an OpenSearch destination")
        .clone();
    assert_eq!(destination.domain_arn(), Some(environment::search_domain_arn("us-east-1", "logs").as_str()));
    assert_eq!(destination.cluster_endpoint(), None);
    assert_eq!(destination.index_name(), Some("clicks-t4"));
    use aws_sdk_firehose::types::{
        AmazonopensearchserviceIndexRotationPeriod, AmazonopensearchserviceS3BackupMode,
    };
    assert_eq!(
        destination.index_rotation_period(),
        Some(&AmazonopensearchserviceIndexRotationPeriod::OneHour)
    );
    assert_eq!(destination.s3_backup_mode(), Some(&AmazonopensearchserviceS3BackupMode::AllDocuments));
    assert_eq!(destination.retry_options().and_then(|retry| retry.duration_in_seconds()), Some(15));
    let hints = destination.buffering_hints().unwrap();
    assert_eq!((hints.size_in_mbs(), hints.interval_in_seconds()), (Some(2), Some(0)));
    let backup = destination.s3_destination_description().unwrap();
    assert_eq!(backup.bucket_arn(), "arn:aws:s3:::search-backup");
    assert_eq!(backup.prefix(), Some("backup/"));

    environment::teardown(&clients, &provisioned).await.unwrap();
    environment.shutdown().await;
}

/// An Elasticsearch destination at an existing cluster's URL: `ClusterEndpoint`, the type name, and
/// a cluster that does not answer is waited for, then reported by its URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_elasticsearch_destination_names_its_cluster_and_an_unreachable_one_is_reported() {
    let environment = Environment::start(&Backend::default()).await.unwrap();
    let clients = environment.endpoint().clients().await;
    // The emulator's own domain stands in for an existing cluster reached by URL.
    let cluster = environment.search_endpoint("existing").unwrap();
    let text = format!(
        "[pipeline]\nbucket = \"es-backup\"\n[pipeline.elasticsearch]\nindex = \"logs\"\ntype_name = \"_doc\"\n\
         endpoint = {cluster:?}\n\n\
         [workload]\nevents = 1\nschema = \"clickstream\"\npartition_key = \"user_id\"\n\n[expect]\n"
    );
    let scenario = scenario::parse(Path::new("es.toml"), &text).unwrap();
    let provisioned =
        environment::provision(&clients, &scenario, "t5", Duration::from_secs(30)).await.unwrap();
    assert_eq!(provisioned.stream_name.as_deref(), Some("sp-es-t5"));
    let search = provisioned.search.clone().unwrap();
    assert_eq!((search.endpoint.as_str(), search.index.as_str()), (cluster.as_str(), "logs-t5"));
    assert_eq!(search.failed_prefix, "elasticsearch-failed/");
    let described = clients
        .firehose
        .describe_delivery_stream()
        .delivery_stream_name(&provisioned.delivery_stream_name)
        .send()
        .await
        .unwrap();
    let destination = described.delivery_stream_description().unwrap().destinations()[0]
        .elasticsearch_destination_description()
        .expect("an Elasticsearch destination")
        .clone();
    assert_eq!(destination.cluster_endpoint(), Some(cluster.as_str()));
    assert_eq!(destination.domain_arn(), None);
    assert_eq!(destination.type_name(), Some("_doc"));
    assert_eq!(destination.index_name(), Some("logs-t5"));
    environment::teardown(&clients, &provisioned).await.unwrap();

    // Port 9 on loopback answers nothing: provisioning waits for the deadline and names the URL.
    let mut unreachable = scenario.clone();
    unreachable.pipeline.search.as_mut().unwrap().endpoint = Some("http://127.0.0.1:9".to_owned());
    let error =
        environment::provision(&clients, &unreachable, "t6", Duration::from_millis(300)).await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, environment::EnvError::NotReady { .. }), "{message}");
    assert!(message.contains("search cluster http://127.0.0.1:9"), "{message}");
    environment.shutdown().await;
}
