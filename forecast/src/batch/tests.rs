//! Tests of the batch CSV front end.

use super::*;

fn options(method: Method, levels: Vec<f64>) -> BatchOptions {
    BatchOptions {
        horizon: 3,
        season_length: 1,
        method,
        levels,
        combine: Combine::Mean,
    }
}

fn run_str(input: &str, opts: &BatchOptions) -> Result<String, BatchError> {
    let mut out = Vec::new();
    run(input.as_bytes(), &mut out, opts)?;
    Ok(String::from_utf8(out).expect("utf-8 output"))
}

#[test]
fn writes_statsforecast_layout_sorted_by_id_with_integer_ds() {
    let mut input = String::from("unique_id,ds,y\n");
    for t in 1..=20 {
        input += &format!("b,{t},{}\na,{t},{}\n", 10 + t % 3, 5 + t % 2);
    }
    let out = run_str(&input, &options(Method::Theta, vec![95.0, 80.0])).expect("runs");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "unique_id,ds,theta,theta-lo-80,theta-lo-95,theta-hi-95,theta-hi-80"
    );
    assert_eq!(lines.len(), 1 + 2 * 3);
    assert!(
        lines[1].starts_with("a,21,")
            && lines[3].starts_with("a,23,")
            && lines[4].starts_with("b,21,")
    );
    let cells: Vec<f64> = lines[1]
        .split(',')
        .skip(2)
        .map(|c| c.parse().expect("number"))
        .collect();
    assert!(
        cells[1] < cells[0] && cells[0] < cells[4],
        "lo-80 < mean < hi-80: {cells:?}"
    );
}

#[test]
fn monthly_dates_continue_by_calendar_month() {
    let mut input = String::from("unique_id,ds,y\n");
    for (i, d) in ["2024-10-31", "2024-11-30", "2024-12-31", "2025-01-31"]
        .iter()
        .enumerate()
    {
        input += &format!("s,{d},{}\n", 3 + i);
    }
    let out = run_str(&input, &options(Method::Adida, vec![])).expect("runs");
    let ds: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap_or(""))
        .collect();
    assert_eq!(ds, ["2025-02-28", "2025-03-31", "2025-04-30"]);
}

#[test]
fn errors_name_the_offending_line() {
    let cases = [
        ("unique_id,ds,y\na,1,2\na,2,x\n", "line 3: `x` in column y"),
        (
            "unique_id,ds,y\na,1,2\na,2024-01-01,3\n",
            "line 3: ds `2024-01-01`",
        ),
        (
            "unique_id,ds,y\na,1,2\na,2,3\na,1,4\n",
            "line 4: series `a` already has a value at ds 1",
        ),
        (
            "unique_id,ds,y\na,1,2\na,2,3\na,4,4\n",
            "line 4: series `a` is not evenly spaced",
        ),
        (
            "id,ds,y\na,1,2\n",
            "line 1: the header has no `unique_id` column",
        ),
    ];
    for (input, want) in cases {
        let err = run_str(input, &options(Method::Adida, vec![]))
            .expect_err(want)
            .to_string();
        assert!(err.starts_with(want), "{err} should start with {want}");
    }
}

#[test]
fn rejects_levels_outside_the_open_interval() {
    let err = run_str(
        "unique_id,ds,y\na,1,2\n",
        &options(Method::Adida, vec![100.0]),
    )
    .expect_err("bad level");
    assert!(matches!(err, BatchError::Options(_)));
}

#[test]
fn a_series_split_across_the_file_keeps_its_rows_in_file_order() {
    let input = "unique_id,ds,y\nb,1,1\nb,2,2\na,1,7\nb,3,3\na,2,8\n";
    let series = read_series(input.as_bytes()).expect("reads");
    let values = |id: &str| series[id].iter().map(|r| r.y).collect::<Vec<_>>();
    assert_eq!(
        (values("a"), values("b")),
        (vec![7.0, 8.0], vec![1.0, 2.0, 3.0])
    );
}
