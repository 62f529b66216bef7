//! The JUnit XML rendering of a report, for CI systems: one test suite for the run, one test case
//! per assertion. It only reads the report.

use std::path::{Path, PathBuf};

use quick_junit::{NonSuccessKind, Property, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};

use crate::assertion::AssertionStatus;
use crate::files::{WriteReportError, write_atomically};
use crate::report::Report;

impl Report {
    /// The report as JUnit XML: one test suite for the run, one test case per assertion.
    ///
    /// A failed assertion is a `<failure>` whose message is the assertion's detail and whose text
    /// lists the specifics the terminal summary shows; the whole summary is the suite's system-out.
    pub fn junit(&self) -> Result<String, WriteReportError> {
        let mut suite = TestSuite::new(format!("streamproof run {}", self.run_id));
        suite.add_property(Property::new("bucket", self.bucket.as_str()));
        suite.add_property(Property::new("prefix", self.prefix.as_str()));
        if let Some(search) = &self.search {
            suite.add_property(Property::new("search_service", search.service.as_str()));
            suite.add_property(Property::new("search_endpoint", search.endpoint.as_str()));
            suite.add_property(Property::new("search_index", search.index.as_str()));
        }
        if let Some(distribution) = &self.distribution {
            for (name, value) in distribution.properties() {
                suite.add_property(Property::new(name, value));
            }
        }
        suite.set_time(std::time::Duration::from_millis(self.wait.elapsed_ms));
        if let Some(reason) = &self.incomplete {
            // An incomplete run is an error of its own, so CI never reads it as a pass.
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(reason.as_str());
            status.set_type("incomplete");
            let mut case = TestCase::new("run completed", status);
            case.set_classname(format!("streamproof.{}", self.bucket));
            suite.add_test_case(case);
        }
        for assertion in &self.assertions() {
            let status = if assertion.status == AssertionStatus::NotApplicable {
                let mut status = TestCaseStatus::skipped();
                status.set_message(assertion.detail.as_str());
                status
            } else if assertion.passed() {
                TestCaseStatus::success()
            } else {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(assertion.detail.as_str());
                status.set_type(assertion.name());
                let specifics = self.specifics(assertion.kind);
                if !specifics.is_empty() {
                    status.set_description(specifics.join("\n"));
                }
                status
            };
            let mut case = TestCase::new(assertion.name(), status);
            case.set_classname(format!("streamproof.{}", self.bucket));
            if assertion.passed() {
                case.set_system_out(assertion.detail.as_str());
            }
            suite.add_test_case(case);
        }
        suite.set_system_out(self.summary());
        let mut junit = JunitReport::new("streamproof");
        junit.add_test_suite(suite);
        junit.to_string().map_err(WriteReportError::Junit)
    }

    /// Writes `junit.xml` into `dir` atomically and returns its path.
    pub fn write_junit(&self, dir: &Path) -> Result<PathBuf, WriteReportError> {
        write_atomically(dir, "junit.xml", self.junit()?.as_bytes())
    }
}
