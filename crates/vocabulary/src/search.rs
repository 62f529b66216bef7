//! The search destinations' words: which service a destination is (OpenSearch or Elasticsearch),
//! how its index rotates, and what its S3 backup keeps.
//!
//! `AmazonopensearchserviceDestinationConfiguration` and `ElasticsearchDestinationConfiguration`
//! have the same members and behave the same; only their names, the failed-documents folder and
//! the error-code prefix differ
//! (<https://docs.aws.amazon.com/firehose/latest/APIReference/API_AmazonopensearchserviceDestinationConfiguration.html>).

use time::OffsetDateTime;

/// Which search service a destination is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchService {
    /// `AmazonopensearchserviceDestinationConfiguration`.
    OpenSearch,
    /// `ElasticsearchDestinationConfiguration`.
    Elasticsearch,
}

impl SearchService {
    /// The product's name, for messages and reports.
    pub fn name(self) -> &'static str {
        match self {
            SearchService::OpenSearch => "OpenSearch",
            SearchService::Elasticsearch => "Elasticsearch",
        }
    }

    /// The scenario table that declares it (`pipeline.opensearch`, `pipeline.elasticsearch`).
    pub fn table(self) -> &'static str {
        match self {
            SearchService::OpenSearch => "pipeline.opensearch",
            SearchService::Elasticsearch => "pipeline.elasticsearch",
        }
    }

    /// The API's configuration member, as in messages.
    pub fn configuration_name(self) -> &'static str {
        match self {
            SearchService::OpenSearch => "AmazonopensearchserviceDestinationConfiguration",
            SearchService::Elasticsearch => "ElasticsearchDestinationConfiguration",
        }
    }

    /// The member path AWS's validation messages name, such as
    /// `amazonopensearchserviceDestinationConfiguration`.
    pub fn member(self) -> &'static str {
        match self {
            SearchService::OpenSearch => "amazonopensearchserviceDestinationConfiguration",
            SearchService::Elasticsearch => "elasticsearchDestinationConfiguration",
        }
    }

    /// The folder under the S3 backup prefix that receives failed documents.
    pub fn failed_prefix_segment(self) -> &'static str {
        match self {
            SearchService::OpenSearch => "AmazonOpenSearchService-failed/",
            SearchService::Elasticsearch => "elasticsearch-failed/",
        }
    }

    /// Where Firehose puts failed documents for a backup under `backup_prefix`:
    /// `<backup_prefix>AmazonOpenSearchService-failed/` or `<backup_prefix>elasticsearch-failed/`.
    pub fn failed_prefix(self, backup_prefix: &str) -> String {
        format!("{backup_prefix}{}", self.failed_prefix_segment())
    }

    /// The error code of failed documents whose request never got an answer.
    pub fn connection_failed(self) -> &'static str {
        match self {
            SearchService::OpenSearch => "OS.ConnectionFailed",
            SearchService::Elasticsearch => "ES.ConnectionFailed",
        }
    }
}

/// `IndexRotationPeriod`: the part of each record's arrival time appended to the index name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexRotation {
    /// `NoRotation`: the index name as given.
    NoRotation,
    /// `OneHour`: `-YYYY-MM-DD-HH`.
    OneHour,
    /// `OneDay` (AWS's default): `-YYYY-MM-DD`.
    OneDay,
    /// `OneWeek`: `-YYYY-wWW` (weeks start on Sunday, week 1 holds January 1st).
    OneWeek,
    /// `OneMonth`: `-YYYY-MM`.
    OneMonth,
}

impl IndexRotation {
    /// Every period, as AWS and scenario files name it.
    pub const ALL: [(&'static str, IndexRotation); 5] = [
        ("NoRotation", IndexRotation::NoRotation),
        ("OneHour", IndexRotation::OneHour),
        ("OneDay", IndexRotation::OneDay),
        ("OneWeek", IndexRotation::OneWeek),
        ("OneMonth", IndexRotation::OneMonth),
    ];

    /// The period the API takes when a configuration names none
    /// (<https://docs.aws.amazon.com/firehose/latest/APIReference/API_AmazonopensearchserviceDestinationConfiguration.html>).
    pub const AWS_DEFAULT: IndexRotation = IndexRotation::OneDay;

    /// The period of an AWS name, such as `OneDay`.
    pub fn from_name(name: &str) -> Option<IndexRotation> {
        IndexRotation::ALL.iter().find(|(known, _)| *known == name).map(|(_, rotation)| *rotation)
    }

    /// The AWS names, comma-separated, for messages: `NoRotation, OneHour, …`.
    pub fn names() -> String {
        IndexRotation::ALL.map(|(name, _)| name).join(", ")
    }

    /// The AWS name, e.g. `OneDay`.
    pub fn as_str(self) -> &'static str {
        IndexRotation::ALL
            .iter()
            .find(|(_, rotation)| *rotation == self)
            .map_or("NoRotation", |(name, _)| name)
    }

    /// The index name for a record that arrived at `arrival` (UTC), as AWS documents it for
    /// `myindex` at 2016-02-25T13:00:00Z: `myindex`, `myindex-2016-02-25-13`, `myindex-2016-02-25`,
    /// `myindex-2016-w09`, `myindex-2016-02`. Weeks follow the documented US convention: a week
    /// starts on Sunday and week 1 is the one holding the year's first Saturday (AWS's own table
    /// shows `w08` for that date, which contradicts the convention it states).
    pub fn index_name(self, base: &str, arrival: OffsetDateTime) -> String {
        let t = arrival.to_offset(time::UtcOffset::UTC);
        let (year, month, day, hour) = (t.year(), u8::from(t.month()), t.day(), t.hour());
        match self {
            IndexRotation::NoRotation => base.to_owned(),
            IndexRotation::OneHour => format!("{base}-{year:04}-{month:02}-{day:02}-{hour:02}"),
            IndexRotation::OneDay => format!("{base}-{year:04}-{month:02}-{day:02}"),
            IndexRotation::OneWeek => {
                let (year, week) = us_week(t.date());
                format!("{base}-{year:04}-w{week:02}")
            }
            IndexRotation::OneMonth => format!("{base}-{year:04}-{month:02}"),
        }
    }
}

/// The US week of a date: weeks start on Sunday, and week 1 holds January 1st (the week of the
/// year's first Saturday); the last days of December can fall in week 1 of the next year.
fn us_week(date: time::Date) -> (i32, u8) {
    let from_sunday = date.weekday().number_days_from_sunday();
    let saturday = date.saturating_add(time::Duration::days(i64::from(6 - from_sunday)));
    if saturday.year() != date.year() {
        return (saturday.year(), 1);
    }
    let january_first = date.replace_ordinal(1).unwrap_or(date);
    let offset = u16::from(january_first.weekday().number_days_from_sunday());
    (date.year(), u8::try_from((date.ordinal() - 1 + offset) / 7 + 1).unwrap_or(u8::MAX))
}

/// `S3BackupMode` of a search destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchBackupMode {
    /// `FailedDocumentsOnly` (the AWS default): documents the cluster refused, once retries are over.
    #[default]
    FailedDocumentsOnly,
    /// `AllDocuments`: every record, indexed or not; failed ones also under the failed-documents prefix.
    AllDocuments,
}

impl SearchBackupMode {
    /// The mode of an AWS name.
    pub fn from_name(name: &str) -> Option<SearchBackupMode> {
        match name {
            "FailedDocumentsOnly" => Some(SearchBackupMode::FailedDocumentsOnly),
            "AllDocuments" => Some(SearchBackupMode::AllDocuments),
            _ => None,
        }
    }

    /// The AWS name.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchBackupMode::FailedDocumentsOnly => "FailedDocumentsOnly",
            SearchBackupMode::AllDocuments => "AllDocuments",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn rotation_appends_the_arrival_time_as_aws_documents() {
        let t = datetime!(2016-02-25 13:00:00 UTC);
        let names: Vec<String> = [
            IndexRotation::NoRotation,
            IndexRotation::OneHour,
            IndexRotation::OneDay,
            IndexRotation::OneWeek,
            IndexRotation::OneMonth,
        ]
        .into_iter()
        .map(|rotation| rotation.index_name("myindex", t))
        .collect();
        assert_eq!(
            names,
            ["myindex", "myindex-2016-02-25-13", "myindex-2016-02-25", "myindex-2016-w09", "myindex-2016-02"]
        );
        // Times in other offsets are named by their UTC time.
        let local = datetime!(2016-02-25 23:30:00 -05:00);
        assert_eq!(IndexRotation::OneHour.index_name("i", local), "i-2016-02-26-04");
    }

    #[test]
    fn us_weeks_start_on_sunday_with_week_one_holding_january_first() {
        assert_eq!(us_week(date!(2016 - 01 - 01)), (2016, 1)); // a Friday
        assert_eq!(us_week(date!(2016 - 01 - 02)), (2016, 1)); // the first Saturday
        assert_eq!(us_week(date!(2016 - 01 - 03)), (2016, 2)); // the next Sunday
        assert_eq!(us_week(date!(2016 - 12 - 31)), (2016, 53));
        assert_eq!(us_week(date!(2017 - 01 - 01)), (2017, 1)); // a Sunday
        // 2019-12-29 is a Sunday whose week holds 2020-01-01.
        assert_eq!(us_week(date!(2019 - 12 - 28)), (2019, 52));
        assert_eq!(us_week(date!(2019 - 12 - 29)), (2020, 1));
        assert_eq!(us_week(date!(2020 - 08 - 12)), (2020, 33));
    }

    #[test]
    fn names_read_back_as_they_are_written() {
        for (name, rotation) in IndexRotation::ALL {
            assert_eq!(IndexRotation::from_name(name), Some(rotation));
            assert_eq!(rotation.as_str(), name);
        }
        assert_eq!(IndexRotation::from_name("oneday"), None);
        for mode in [SearchBackupMode::FailedDocumentsOnly, SearchBackupMode::AllDocuments] {
            assert_eq!(SearchBackupMode::from_name(mode.as_str()), Some(mode));
        }
        assert_eq!(SearchService::Elasticsearch.failed_prefix("b/"), "b/elasticsearch-failed/");
    }
}
