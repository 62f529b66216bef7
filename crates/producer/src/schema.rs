//! Event schemas: deterministic synthetic events, random-access by seq.
//!
//! Event `seq` of a run is a pure function of (schema, seed, seq): its generator is a ChaCha8
//! stream selected by `seq` under a key derived from the seed, so any event can be produced
//! alone, in any order, by any process, and comes out byte-identical.

use std::io::Write;

use fake::Fake;
use fake::faker::internet::en::{IPv4, SafeEmail, UserAgent};
use fake::faker::lorem::en::{Sentence, Word};
use fake::faker::name::en::Name;
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use scenario::{CustomField, FieldKind, PAD_FIELD, PartitionKey, Payload, Schema, Workload};
use serde::Serialize;
use serde_json::json;

use crate::keys::KeySampler;

/// Unix seconds of 2026-01-01T00:00:00Z, the synthetic clock events are stamped from.
const EPOCH_2026: i64 = 1_767_225_600;
/// Synthetic event time advances by this many milliseconds per seq.
const MILLIS_PER_EVENT: i64 = 10;
/// Mixed into the seed for the stream that draws a record's padded size.
const SIZE_STREAM_SALT: u64 = 0x7061_6464_696e_6731;

const ACTIONS: &[&str] =
    &["view", "click", "search", "add_to_cart", "remove_from_cart", "purchase", "login", "logout"];
const CATEGORIES: &[&str] =
    &["electronics", "books", "fashion", "home", "sports", "beauty", "toys", "grocery", "music", "garden"];
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "sa-east-1",
];
/// (manufacturer, marketing name, model code, OS, OS versions).
const DEVICES: &[(&str, &str, &str, &str, &[&str])] = &[
    ("Samsung", "Galaxy S24", "SM-S921N", "Android", &["14", "15"]),
    ("Samsung", "Galaxy A54", "SM-A546S", "Android", &["13", "14"]),
    ("Samsung", "Galaxy Z Flip5", "SM-F731N", "Android", &["14"]),
    ("LG", "Velvet", "LM-G900N", "Android", &["12", "13"]),
    ("Apple", "iPhone 15", "iPhone15,4", "iOS", &["17.4", "17.5", "18.0"]),
    ("Apple", "iPhone 13 mini", "iPhone14,4", "iOS", &["16.7", "17.5"]),
    ("Google", "Pixel 8", "GKWS6", "Android", &["14", "15"]),
    ("Xiaomi", "Redmi Note 13", "23129RAA4G", "Android", &["13", "14"]),
];
const APP_VERSIONS: &[&str] = &["4.12.0", "4.12.1", "4.13.0", "5.0.0-beta.2", "5.0.0"];
const APP_EVENTS: &[&str] = &[
    "app_open",
    "app_background",
    "screen_view",
    "interest_follow",
    "interest_unfollow",
    "push_open",
    "share",
    "purchase",
];
/// Korean given names, for device names such as `민준의 Galaxy S24`.
const KOREAN_NAMES: &[&str] =
    &["민준", "서연", "도윤", "지우", "하준", "서윤", "은우", "지호", "예린", "시우"];
/// Japanese given names, for device names such as `さくらのiPhone 15`.
const JAPANESE_NAMES: &[&str] = &["さくら", "はると", "ゆい", "そうた", "あおい"];
const ENGLISH_NAMES: &[&str] = &["Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey"];
const LOCALES: &[&str] = &["ko-KR", "ko-KR", "ko-KR", "en-US", "ja-JP", "zh-TW"];
const REFERRERS: &[&str] = &["https://www.naver.com/", "https://www.google.com/", "https://m.kakao.com/"];
const TRACK_EVENTS: &[&str] =
    &["Product Viewed", "Product Added", "Checkout Started", "Order Completed", "Signed In", "Page Scrolled"];
/// (product name in Korean, price in KRW).
const PRODUCTS_KO: &[(&str, u32)] = &[
    ("무선 이어폰", 89_000),
    ("가죽 지갑", 45_000),
    ("텀블러 500ml", 19_800),
    ("러닝화", 129_000),
    ("기계식 키보드", 159_000),
];
/// (product name, price in USD cents).
const PRODUCTS_EN: &[(&str, u32)] = &[
    ("Wireless earbuds", 7_999),
    ("Leather wallet", 3_999),
    ("Running shoes", 11_999),
    ("Desk lamp", 2_499),
];
const PAGES: &[(&str, &str)] = &[
    ("/", "홈"),
    ("/products", "상품 목록"),
    ("/cart", "장바구니"),
    ("/checkout", "결제"),
    ("/search", "검색"),
];

/// Generates the events, partition keys and padded sizes of one workload.
#[derive(Debug, Clone)]
pub struct Generator {
    schema: Schema,
    seed: u64,
    users: u32,
    /// The event field whose value is the key, when the strategy reads one.
    key_field: Option<String>,
    keys: KeySampler,
    payload: Payload,
}

/// One clickstream event: a web or API action log line.
#[derive(Debug, Serialize)]
struct Clickstream<'a> {
    timestamp: String,
    user_id: String,
    device: String,
    action: &'a str,
    category: &'a str,
    region: &'a str,
    keyword: String,
}

/// One mobile analytics event, as app backends log them.
#[derive(Debug, Serialize)]
struct AppEvent<'a> {
    timestamp: String,
    user_id: String,
    app_version: &'a str,
    device_id: String,
    device_manufacturer: &'a str,
    device_name: String,
    device_model: &'a str,
    device_os: &'a str,
    device_os_number: &'a str,
    event: &'a str,
    /// Set only for interest events.
    interest_id: Option<u32>,
    index: u64,
    /// Set only when the app was opened from a link.
    referrer: Option<&'a str>,
    locale: &'a str,
}

/// One `{"personId", "itemId"}` interaction.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PersonItem {
    person_id: String,
    item_id: String,
}

impl Generator {
    /// A generator for `workload`'s schema, seed, key strategy and payload sizes.
    pub fn new(workload: &Workload) -> Generator {
        Generator {
            schema: workload.schema.clone(),
            seed: workload.seed,
            users: workload.users,
            key_field: match &workload.partition_key {
                PartitionKey::Field(field) => Some(field.clone()),
                _ => None,
            },
            keys: KeySampler::new(&workload.partition_key),
            payload: workload.payload,
        }
    }

    /// Whether every record has a fresh key, so per-key sequence numbers are always 0.
    pub fn keys_are_unique(&self) -> bool {
        matches!(self.keys, KeySampler::Random)
    }

    /// Appends record `seq` as the producer sends it to `out`: `event` (event `seq`) with `envelope`
    /// under `envelope_field`, padded to the workload's size for `seq`.
    pub fn append_record(
        &self,
        seq: u64,
        event: &[u8],
        envelope_field: &str,
        envelope: &crate::Envelope,
        out: &mut Vec<u8>,
    ) {
        let size = self.padded_size(seq);
        crate::envelope::append_padded(event, envelope_field, envelope, size, PAD_FIELD, out);
    }

    /// Writes event `seq` as a JSON object into `out` (cleared first) and returns its partition key.
    pub fn event(&self, seq: u64, out: &mut Vec<u8>) -> String {
        out.clear();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(seq);
        let field = self.key_field.as_deref();
        let from_field = match &self.schema {
            Schema::Clickstream => self.clickstream(seq, &mut rng, out, field),
            Schema::AppEvent => self.app_event(seq, &mut rng, out, field),
            Schema::SegmentTrack => self.segment_track(seq, &mut rng, out, field),
            Schema::PersonItem => self.person_item(&mut rng, out, field),
            Schema::Custom(fields) => {
                let mut key = None;
                write_object(fields, seq, &mut rng, out, field, &mut key);
                key
            }
        };
        match self.keys.key(self.seed, seq) {
            Some(key) => key,
            None => from_field.expect("validation admits only string fields of the schema as keys"),
        }
    }

    /// The partition key of `seq`, generating the event only when the key is one of its fields.
    pub fn key(&self, seq: u64, scratch: &mut Vec<u8>) -> String {
        match self.keys.key(self.seed, seq) {
            Some(key) => key,
            None => self.event(seq, scratch),
        }
    }

    /// The size record `seq` is padded to, if the workload pads.
    pub fn padded_size(&self, seq: u64) -> Option<usize> {
        match self.payload {
            Payload::Natural => None,
            Payload::Fixed(size) => Some(size as usize),
            Payload::Uniform { min, max } => {
                let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ SIZE_STREAM_SALT);
                rng.set_stream(seq);
                Some(rng.random_range(min..=max) as usize)
            }
        }
    }

    fn user(&self, rng: &mut ChaCha8Rng) -> String {
        format!("user-{:05}", rng.random_range(0..self.users))
    }

    fn clickstream(
        &self,
        seq: u64,
        rng: &mut ChaCha8Rng,
        out: &mut Vec<u8>,
        field: Option<&str>,
    ) -> Option<String> {
        let event = Clickstream {
            timestamp: synthetic_timestamp(seq),
            user_id: self.user(rng),
            device: UserAgent().fake_with_rng(rng),
            action: pick_str(rng, ACTIONS),
            category: pick_str(rng, CATEGORIES),
            region: pick_str(rng, REGIONS),
            keyword: Word().fake_with_rng(rng),
        };
        serde_json::to_writer(&mut *out, &event).expect("an event serialises");
        Some(match field? {
            "timestamp" => event.timestamp,
            "user_id" => event.user_id,
            "device" => event.device,
            "action" => event.action.to_owned(),
            "category" => event.category.to_owned(),
            "region" => event.region.to_owned(),
            "keyword" => event.keyword,
            _ => return None,
        })
    }

    fn app_event(
        &self,
        seq: u64,
        rng: &mut ChaCha8Rng,
        out: &mut Vec<u8>,
        field: Option<&str>,
    ) -> Option<String> {
        let (manufacturer, name, model, os, versions) = *pick(rng, DEVICES);
        let locale = pick_str(rng, LOCALES);
        let device_name = match locale {
            "ko-KR" => format!("{}의 {name}", pick_str(rng, KOREAN_NAMES)),
            "ja-JP" => format!("{}の{name}", pick_str(rng, JAPANESE_NAMES)),
            _ => format!("{}'s {name}", pick_str(rng, ENGLISH_NAMES)),
        };
        let event = pick_str(rng, APP_EVENTS);
        let event = AppEvent {
            timestamp: synthetic_timestamp(seq),
            user_id: self.user(rng),
            app_version: pick_str(rng, APP_VERSIONS),
            device_id: uuid(rng),
            device_manufacturer: manufacturer,
            device_name,
            device_model: model,
            device_os: os,
            device_os_number: pick_str(rng, versions),
            event,
            interest_id: event.starts_with("interest").then(|| rng.random_range(1..5_000)),
            index: rng.random_range(0..1_000),
            referrer: (event == "app_open" && rng.random_bool(0.3)).then(|| pick_str(rng, REFERRERS)),
            locale,
        };
        serde_json::to_writer(&mut *out, &event).expect("an event serialises");
        Some(match field? {
            "timestamp" => event.timestamp,
            "user_id" => event.user_id,
            "app_version" => event.app_version.to_owned(),
            "device_id" => event.device_id,
            "device_manufacturer" => event.device_manufacturer.to_owned(),
            "device_name" => event.device_name,
            "device_model" => event.device_model.to_owned(),
            "device_os" => event.device_os.to_owned(),
            "device_os_number" => event.device_os_number.to_owned(),
            "event" => event.event.to_owned(),
            "locale" => event.locale.to_owned(),
            _ => return None,
        })
    }

    fn segment_track(
        &self,
        seq: u64,
        rng: &mut ChaCha8Rng,
        out: &mut Vec<u8>,
        field: Option<&str>,
    ) -> Option<String> {
        let event = pick_str(rng, TRACK_EVENTS);
        let user_id = self.user(rng);
        let anonymous_id = uuid(rng);
        let message_id = format!("ajs-next-{}", uuid(rng));
        let timestamp = synthetic_timestamp(seq);
        let korean = rng.random_bool(0.6);
        let (path, title) = *pick(rng, PAGES);
        let ip: String = IPv4().fake_with_rng(rng);
        let agent: String = UserAgent().fake_with_rng(rng);
        let (name, price) = if korean { *pick(rng, PRODUCTS_KO) } else { *pick(rng, PRODUCTS_EN) };
        let quantity = rng.random_range(1..4u32);
        let product_id = format!("sku-{:06}", rng.random_range(0..100_000));
        let (currency, revenue) = if korean {
            ("KRW", json!(price * quantity))
        } else {
            ("USD", json!(f64::from(price * quantity) / 100.0))
        };
        let value = json!({
            "type": "track",
            "event": event,
            "userId": user_id,
            "anonymousId": anonymous_id,
            "messageId": message_id,
            "timestamp": timestamp,
            "context": {
                "ip": ip,
                "locale": if korean { "ko-KR" } else { "en-US" },
                "userAgent": agent,
                "library": { "name": "analytics.js", "version": "next-1.70.0" },
                "page": { "path": path, "title": title, "url": format!("https://shop.example.com{path}") },
            },
            "properties": {
                "product_id": product_id,
                "name": name,
                "price": price,
                "quantity": quantity,
                "currency": currency,
                "revenue": revenue,
            },
        });
        serde_json::to_writer(&mut *out, &value).expect("an event serialises");
        Some(match field? {
            "type" => "track".to_owned(),
            "event" => event.to_owned(),
            "userId" => user_id,
            "anonymousId" => anonymous_id,
            "messageId" => message_id,
            "timestamp" => timestamp,
            _ => return None,
        })
    }

    fn person_item(&self, rng: &mut ChaCha8Rng, out: &mut Vec<u8>, field: Option<&str>) -> Option<String> {
        let event = PersonItem {
            person_id: format!("{}", rng.random_range(0..self.users)),
            item_id: format!("{}", rng.random_range(0..100_000u32)),
        };
        serde_json::to_writer(&mut *out, &event).expect("an event serialises");
        Some(match field? {
            "personId" => event.person_id,
            "itemId" => event.item_id,
            _ => return None,
        })
    }
}

/// Writes a custom object in declaration order; stores the string value of top-level `field` in `key`.
fn write_object(
    fields: &[CustomField],
    seq: u64,
    rng: &mut ChaCha8Rng,
    out: &mut Vec<u8>,
    field: Option<&str>,
    key: &mut Option<String>,
) {
    out.push(b'{');
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, &f.name).expect("a string serialises");
        out.push(b':');
        let text: Option<String> = match &f.kind {
            FieldKind::Uuid => Some(uuid(rng)),
            FieldKind::Name => Some(Name().fake_with_rng(rng)),
            FieldKind::Email => Some(SafeEmail().fake_with_rng(rng)),
            FieldKind::Ipv4 => Some(IPv4().fake_with_rng(rng)),
            FieldKind::UserAgent => Some(UserAgent().fake_with_rng(rng)),
            FieldKind::Word => Some(Word().fake_with_rng(rng)),
            FieldKind::Sentence => Some(Sentence(3..9).fake_with_rng(rng)),
            FieldKind::Timestamp => Some(synthetic_timestamp(seq)),
            FieldKind::Enum(values) => Some(pick(rng, values).clone()),
            FieldKind::Constant(value) => Some(value.clone()),
            FieldKind::Integer { min, max } => {
                write!(out, "{}", rng.random_range(*min..=*max)).expect("writing to a Vec succeeds");
                None
            }
            FieldKind::Float { min, max } => {
                serde_json::to_writer(&mut *out, &rng.random_range(*min..*max)).expect("a float serialises");
                None
            }
            FieldKind::Object(inner) => {
                write_object(inner, seq, rng, out, None, &mut None);
                None
            }
        };
        if let Some(text) = text {
            serde_json::to_writer(&mut *out, &text).expect("a string serialises");
            if field == Some(f.name.as_str()) {
                *key = Some(text);
            }
        }
    }
    out.push(b'}');
}

fn pick_str<'a>(rng: &mut ChaCha8Rng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// A version-4 UUID from the generator's stream, so it is as deterministic as the rest of the event.
fn uuid(rng: &mut ChaCha8Rng) -> String {
    let (a, b) = (rng.next_u64(), rng.next_u64());
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// `2026-01-01T00:00:00.000Z` plus `seq` × 10 ms, in RFC 3339 with milliseconds.
fn synthetic_timestamp(seq: u64) -> String {
    let millis = EPOCH_2026 * 1000 + (seq as i64).saturating_mul(MILLIS_PER_EVENT);
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .expect("synthetic timestamps stay within the representable range");
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use scenario::{PutApi, Rate};
    use std::collections::HashSet;

    fn workload(schema: Schema, key: PartitionKey, seed: u64) -> Workload {
        Workload {
            events: 1000,
            duration: None,
            schema,
            partition_key: key,
            users: 50,
            seed,
            envelope_field: "_streamproof".into(),
            payload: Payload::Natural,
            rate: Rate::Unlimited,
            api: PutApi::PutRecords,
            concurrency: 1,
            retry_budget: std::time::Duration::from_secs(30),
            reshard: Vec::new(),
        }
    }

    fn by_field(schema: Schema, field: &str, seed: u64) -> Generator {
        Generator::new(&workload(schema, PartitionKey::Field(field.into()), seed))
    }

    fn custom() -> Schema {
        let f = |name: &str, kind| CustomField { name: name.into(), kind };
        Schema::Custom(vec![
            f("id", FieldKind::Uuid),
            f("who", FieldKind::Name),
            f("mail", FieldKind::Email),
            f("ip", FieldKind::Ipv4),
            f("agent", FieldKind::UserAgent),
            f("word", FieldKind::Word),
            f("text", FieldKind::Sentence),
            f("at", FieldKind::Timestamp),
            f("status", FieldKind::Enum(vec!["ok".into(), "error".into()])),
            f("service", FieldKind::Constant("checkout".into())),
            f("latency_ms", FieldKind::Integer { min: 5, max: 9 }),
            f("score", FieldKind::Float { min: 0.5, max: 0.75 }),
            f("geo", FieldKind::Object(vec![f("city", FieldKind::Word)])),
        ])
    }

    fn all_schemas() -> Vec<(Schema, &'static str)> {
        vec![
            (Schema::Clickstream, "user_id"),
            (Schema::AppEvent, "user_id"),
            (Schema::SegmentTrack, "userId"),
            (Schema::PersonItem, "personId"),
            (custom(), "who"),
        ]
    }

    #[test]
    fn same_seed_gives_byte_identical_events_in_any_order_for_every_schema() {
        for (schema, field) in all_schemas() {
            let a = by_field(schema.clone(), field, 42);
            let b = by_field(schema.clone(), field, 42);
            let (mut x, mut y) = (Vec::new(), Vec::new());
            for seq in (0..200).rev() {
                let kx = a.event(seq, &mut x);
                let ky = b.event(seq, &mut y);
                assert_eq!(x, y, "{} seq {seq}", schema.name());
                assert_eq!(kx, ky);
            }
            let mut z = Vec::new();
            by_field(schema.clone(), field, 43).event(0, &mut z);
            a.event(0, &mut x);
            assert_ne!(x, z, "{}: different seeds differ", schema.name());
        }
    }

    #[test]
    fn every_schema_has_its_fields_and_the_key_of_the_named_field() {
        for (schema, field) in all_schemas() {
            let generator = by_field(schema.clone(), field, 7);
            let mut out = Vec::new();
            let mut keys = HashSet::new();
            for seq in 0..2000 {
                let key = generator.event(seq, &mut out);
                let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
                let object = value.as_object().unwrap();
                let names: Vec<&str> = object.keys().map(String::as_str).collect();
                let mut expected = schema.fields();
                let mut actual = names.clone();
                expected.sort_unstable();
                actual.sort_unstable();
                assert_eq!(actual, expected, "{}: {value}", schema.name());
                assert_eq!(object[field], key.as_str(), "{}", schema.name());
                assert_eq!(generator.key(seq, &mut Vec::new()), key);
                keys.insert(key);
            }
            // 2,000 draws over 50 users leave none out with overwhelming probability; custom names vary freely.
            if matches!(schema, Schema::Custom(_)) {
                assert!(keys.len() > 1000, "custom: {} distinct names", keys.len());
            } else {
                assert_eq!(keys.len(), 50, "{}", schema.name());
            }
        }
    }

    #[test]
    fn app_events_have_korean_device_names_nullable_fields_and_iso_timestamps() {
        let generator = by_field(Schema::AppEvent, "user_id", 3);
        let mut out = Vec::new();
        let (mut korean, mut null_interest, mut some_interest) = (0, 0, 0);
        for seq in 0..1000 {
            generator.event(seq, &mut out);
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            let name = v["device_name"].as_str().unwrap();
            if name.contains('의') {
                korean += 1;
                assert_eq!(v["locale"], "ko-KR");
            }
            if v["interest_id"].is_null() {
                null_interest += 1
            } else {
                some_interest += 1
            }
            assert!(
                time::OffsetDateTime::parse(
                    v["timestamp"].as_str().unwrap(),
                    &time::format_description::well_known::Rfc3339
                )
                .is_ok()
            );
            assert_eq!(v["device_id"].as_str().unwrap().len(), 36);
        }
        assert!(korean > 300, "{korean} Korean device names of 1000");
        assert!(null_interest > 0 && some_interest > 0, "{null_interest} null, {some_interest} set");
    }

    #[test]
    fn segment_track_events_nest_context_and_properties() {
        let generator = by_field(Schema::SegmentTrack, "userId", 5);
        let mut out = Vec::new();
        let mut krw = 0;
        for seq in 0..500 {
            generator.event(seq, &mut out);
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(v["type"], "track");
            assert!(v["context"]["library"]["name"].is_string(), "{v}");
            assert!(v["context"]["page"]["path"].as_str().unwrap().starts_with('/'));
            assert!(v["properties"]["quantity"].as_u64().unwrap() >= 1);
            if v["properties"]["currency"] == "KRW" {
                krw += 1;
                assert!(!v["properties"]["name"].as_str().unwrap().is_ascii());
            }
        }
        assert!(krw > 100, "{krw}");
    }

    #[test]
    fn person_items_are_small() {
        let generator = by_field(Schema::PersonItem, "personId", 5);
        let mut out = Vec::new();
        for seq in 0..100 {
            generator.event(seq, &mut out);
            assert!(out.len() < 50, "{}", String::from_utf8_lossy(&out));
        }
    }

    #[test]
    fn custom_fields_follow_their_kinds_and_order() {
        let generator = by_field(custom(), "who", 11);
        let mut out = Vec::new();
        for seq in 0..300 {
            generator.event(seq, &mut out);
            let text = String::from_utf8(out.clone()).unwrap();
            assert!(text.starts_with(r#"{"id":""#), "{text}");
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert!((5..=9).contains(&v["latency_ms"].as_i64().unwrap()));
            let score = v["score"].as_f64().unwrap();
            assert!((0.5..0.75).contains(&score));
            assert!(["ok", "error"].contains(&v["status"].as_str().unwrap()));
            assert_eq!(v["service"], "checkout");
            assert!(v["mail"].as_str().unwrap().contains('@'));
            assert_eq!(v["ip"].as_str().unwrap().split('.').count(), 4);
            assert!(v["geo"]["city"].is_string());
            assert_eq!(v["at"], synthetic_timestamp(seq));
        }
    }

    #[test]
    fn key_strategies_other_than_field_do_not_depend_on_the_event() {
        let generator = Generator::new(&workload(Schema::Clickstream, PartitionKey::Uniform { keys: 3 }, 1));
        let mut out = Vec::new();
        let keys: HashSet<String> = (0..300).map(|seq| generator.event(seq, &mut out)).collect();
        assert_eq!(keys, ["key-000000", "key-000001", "key-000002"].map(String::from).into_iter().collect());
    }

    #[test]
    fn padded_sizes_are_fixed_or_drawn_within_bounds() {
        let mut w = workload(Schema::PersonItem, PartitionKey::Field("personId".into()), 1);
        w.payload = Payload::Fixed(300);
        assert_eq!(Generator::new(&w).padded_size(9), Some(300));
        w.payload = Payload::Uniform { min: 100, max: 120 };
        let generator = Generator::new(&w);
        let sizes: HashSet<usize> = (0..1000).map(|seq| generator.padded_size(seq).unwrap()).collect();
        assert!(sizes.iter().all(|s| (100..=120).contains(s)));
        assert_eq!(sizes.len(), 21);
        assert_eq!(generator.padded_size(5), Generator::new(&w).padded_size(5));
    }

    #[test]
    fn synthetic_timestamps_start_at_2026_and_advance_10ms_per_event() {
        assert_eq!(synthetic_timestamp(0), "2026-01-01T00:00:00.000Z");
        assert_eq!(synthetic_timestamp(100_001), "2026-01-01T00:16:40.010Z");
    }
}
