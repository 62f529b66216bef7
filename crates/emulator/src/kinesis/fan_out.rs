//! Enhanced fan-out registrations: a stream's consumers, and which SubscribeToShard call holds
//! each of their shards.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use time::OffsetDateTime;

use crate::error::ApiError;
use crate::kinesis::shards::shard_id;

/// An enhanced fan-out consumer (RegisterStreamConsumer).
#[derive(Debug, Clone)]
pub(crate) struct Consumer {
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) created: OffsetDateTime,
    /// The latest SubscribeToShard of each shard, by shard index.
    pub(crate) subscriptions: HashMap<usize, Subscription>,
}

/// One SubscribeToShard call that took over a consumer's shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Subscription {
    /// Distinguishes this subscription from the next one on the same shard, which ends it.
    pub(crate) id: u64,
    /// When it started, in emulator milliseconds since the Unix epoch.
    pub(crate) started_ms: i64,
}

/// How a call names a consumer: by its ARN, or by its stream's ARN and its name.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ConsumerRef<'a> {
    Arn(&'a str),
    Named { stream_arn: &'a str, name: &'a str },
}

/// How soon after a successful SubscribeToShard another call for the same consumer and shard is
/// refused: "If you call SubscribeToShard again with the same ConsumerARN and ShardId within 5
/// seconds of a successful call, you'll get a ResourceInUseException" (SubscribeToShard, Kinesis API
/// Reference); a later call takes the subscription over.
const SUBSCRIPTION_TAKEOVER_MS: i64 = 5_000;

/// Numbers subscriptions across streams.
static NEXT_SUBSCRIPTION: AtomicU64 = AtomicU64::new(1);

impl Consumer {
    /// Starts a subscription to shard `shard_index` at `now_ms` emulator milliseconds since the
    /// epoch, taking the shard over from an earlier subscription unless that one started under 5
    /// seconds ago.
    pub(crate) fn take_over(&mut self, shard_index: usize, now_ms: i64) -> Result<Subscription, ApiError> {
        if let Some(previous) = self.subscriptions.get(&shard_index)
            && now_ms - previous.started_ms < SUBSCRIPTION_TAKEOVER_MS
        {
            return Err(ApiError::in_use(format!(
                "Consumer {} subscribed to shard {} less than 5 seconds ago.",
                self.arn,
                shard_id(shard_index)
            )));
        }
        let subscription =
            Subscription { id: NEXT_SUBSCRIPTION.fetch_add(1, Ordering::Relaxed), started_ms: now_ms };
        self.subscriptions.insert(shard_index, subscription);
        Ok(subscription)
    }
}
