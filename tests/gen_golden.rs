//! Golden lines: the first cycles of each format, pinned forever.
//!
//! These lines were computed by an independent model of `docs/generator.md` (not by
//! this crate). If this test fails, the generator changed what a cycle means: every
//! stored truth and every replay would silently break.

use ssa::format::Format;
use ssa::gen::{KeyMode, Workload, WorkloadOptions};

const SEED: [&str; 10] = [
    r#"536738a1-816c-457a-bbf1-01084ce04faa-candle"#,
    r#"4bc54b07-70d4-41ef-beee-5df3012f47b2-winter"#,
    r#"c63d3dd6-2bc5-4b5a-9e3f-5ef0bfbf2b13-raven"#,
    r#"de172e83-fb7f-4cab-b43f-50c9c7d8dee3-raven"#,
    r#"b7acbcae-3579-45f8-850e-b035efbafe72-planet"#,
    r#"7aeee3f6-8e14-496f-abdb-b09b423cb989-candle"#,
    r#"bbd930e6-67cd-4d3d-a5d0-6c3bd673c523-helmet"#,
    r#"21613db0-3ca2-4192-b2f1-99f6b8d0cf55-yellow"#,
    r#"62c71bb2-66e0-41ea-aa94-438c6d66eb08-meadow"#,
    r#"0f256e71-429a-4580-a07f-641da749d636-spring"#,
];

const CSV: [&str; 10] = [
    r#"536738a1-816c-457a-bbf1-01084ce04faa,candle,1767225600000,604"#,
    r#"4bc54b07-70d4-41ef-beee-5df3012f47b2,winter,1767225600001,578"#,
    r#"c63d3dd6-2bc5-4b5a-9e3f-5ef0bfbf2b13,raven,1767225600002,959"#,
    r#"de172e83-fb7f-4cab-b43f-50c9c7d8dee3,raven,1767225600003,718"#,
    r#"b7acbcae-3579-45f8-850e-b035efbafe72,planet,1767225600004,703"#,
    r#"7aeee3f6-8e14-496f-abdb-b09b423cb989,candle,1767225600005,436"#,
    r#"bbd930e6-67cd-4d3d-a5d0-6c3bd673c523,helmet,1767225600006,469"#,
    r#"21613db0-3ca2-4192-b2f1-99f6b8d0cf55,yellow,1767225600007,402"#,
    r#"62c71bb2-66e0-41ea-aa94-438c6d66eb08,meadow,1767225600008,123"#,
    r#"0f256e71-429a-4580-a07f-641da749d636,spring,1767225600009,639"#,
];

const JSON: [&str; 10] = [
    r#"{"franchise_id":"536738a1-816c-457a-bbf1-01084ce04faa","event_name":"candle","ts":1767225600000,"value":604}"#,
    r#"{"franchise_id":"4bc54b07-70d4-41ef-beee-5df3012f47b2","event_name":"winter","ts":1767225600001,"value":578}"#,
    r#"{"franchise_id":"c63d3dd6-2bc5-4b5a-9e3f-5ef0bfbf2b13","event_name":"raven","ts":1767225600002,"value":959}"#,
    r#"{"franchise_id":"de172e83-fb7f-4cab-b43f-50c9c7d8dee3","event_name":"raven","ts":1767225600003,"value":718}"#,
    r#"{"franchise_id":"b7acbcae-3579-45f8-850e-b035efbafe72","event_name":"planet","ts":1767225600004,"value":703}"#,
    r#"{"franchise_id":"7aeee3f6-8e14-496f-abdb-b09b423cb989","event_name":"candle","ts":1767225600005,"value":436}"#,
    r#"{"franchise_id":"bbd930e6-67cd-4d3d-a5d0-6c3bd673c523","event_name":"helmet","ts":1767225600006,"value":469}"#,
    r#"{"franchise_id":"21613db0-3ca2-4192-b2f1-99f6b8d0cf55","event_name":"yellow","ts":1767225600007,"value":402}"#,
    r#"{"franchise_id":"62c71bb2-66e0-41ea-aa94-438c6d66eb08","event_name":"meadow","ts":1767225600008,"value":123}"#,
    r#"{"franchise_id":"0f256e71-429a-4580-a07f-641da749d636","event_name":"spring","ts":1767225600009,"value":639}"#,
];

const SEED_UNBOUNDED: [&str; 3] = [
    r#"536738a1-816c-457a-bbf1-01084ce04faa-f74397f8-f60e-47a0-bd36-262948b21652"#,
    r#"4bc54b07-70d4-41ef-beee-5df3012f47b2-ea1fc27b-b004-4c62-99fc-d627d3f2d285"#,
    r#"c63d3dd6-2bc5-4b5a-9e3f-5ef0bfbf2b13-20ec2b18-4add-4859-9a3f-1ef87fee6d7a"#,
];

fn workload(format: Format, keys: KeyMode) -> Workload {
    Workload::new(WorkloadOptions {
        format,
        keys,
        ..WorkloadOptions::default()
    })
    .expect("default options are valid")
}

fn first_lines(w: &Workload, n: u64) -> Vec<String> {
    let mut out = Vec::new();
    for cycle in 0..n {
        w.write_line(cycle, &mut out);
    }
    String::from_utf8(out)
        .expect("lines are utf-8")
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn seed_format_first_lines() {
    assert_eq!(first_lines(&Workload::default(), 10), SEED);
}

#[test]
fn csv_format_first_lines() {
    assert_eq!(
        first_lines(&workload(Format::Csv, KeyMode::Bounded), 10),
        CSV
    );
}

#[test]
fn json_format_first_lines() {
    assert_eq!(
        first_lines(&workload(Format::Json, KeyMode::Bounded), 10),
        JSON
    );
}

#[test]
fn unbounded_keys_first_lines() {
    assert_eq!(
        first_lines(&workload(Format::Seed, KeyMode::Unbounded), 3),
        SEED_UNBOUNDED
    );
}

#[test]
fn json_fields_match_the_event() {
    let w = workload(Format::Json, KeyMode::Bounded);
    for (cycle, line) in JSON.iter().enumerate() {
        let e = w.event(cycle as u64);
        let value: serde_json::Value = serde_json::from_str(line).expect("valid json");
        assert_eq!(value["franchise_id"], e.franchise_id.to_string());
        assert_eq!(value["event_name"], *e.event_name);
        assert_eq!(value["ts"], e.ts_ms);
        assert_eq!(value["value"], e.value);
    }
}

#[test]
fn event_fields_match_the_line() {
    let w = workload(Format::Csv, KeyMode::Bounded);
    for (cycle, line) in CSV.iter().enumerate() {
        let e = w.event(cycle as u64);
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[0], e.franchise_id.to_string());
        assert_eq!(fields[1], e.event_name);
        assert_eq!(fields[2], e.ts_ms.to_string());
        assert_eq!(fields[3], e.value.to_string());
    }
}
