use scf_forecast::ets::{self, Candidates};
use scf_forecast::{forecast, Method, Spec, Combine};
fn load(path: &str) -> Vec<(String, Vec<f64>)> {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let mut series: Vec<(String, Vec<f64>)> = vec![];
    for r in rdr.records() {
        let r = r.unwrap();
        let id = r[0].to_string();
        let y: f64 = r[2].parse().unwrap();
        if series.last().map_or(true, |s| s.0 != id) { series.push((id, vec![])); }
        series.last_mut().unwrap().1.push(y);
    }
    series
}
fn mase(x: &[f64], y: &[f64], f: &[f64]) -> f64 {
    let m = 12; let sc: f64 = (m..x.len()).map(|t| (x[t]-x[t-m]).abs()).sum::<f64>() / (x.len()-m) as f64;
    y.iter().zip(f).map(|(a,b)| (a-b).abs()).sum::<f64>() / y.len() as f64 / sc
}
fn cpu() -> f64 { let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap(); s.split_whitespace().next().unwrap().parse::<f64>().unwrap() / 1e9 }
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let train = load(&a[1]); let test = load(&a[2]);
    let what = a[3].as_str();
    let n = train.len();
    let c0 = cpu();
    let mut tot = 0.0; let mut tot_e = 0.0; let mut tot_t = 0.0;
    for ((_, x), (_, y)) in train.iter().zip(&test) {
        let h = y.len();
        let (f, fe, ft) = match what {
            "ets" | "ets_nd" | "ets_na" => {
                let it: usize = std::env::var("SCREEN").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
                let keep: usize = std::env::var("KEEP").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
                let screening = (it > 0).then_some(ets::Screening { iterations: it, keep });
                let c = Candidates { undamped_trend: what != "ets_nd", multiplicative_season: what != "ets_na", screening, multiplicative_error: true };
                let fit = ets::auto(x, 12, c).unwrap();
                let fe = fit.forecast(h);
                let th = forecast(x, &Spec { method: Method::Theta, ..Spec::new(h, 12) }).unwrap().mean;
                let ens: Vec<f64> = fe.iter().zip(&th).map(|(a,b)| (a+b)/2.0).collect();
                (ens, fe, th)
            }
            _ => { let f = forecast(x, &Spec { method: Method::Ensemble, combine: Combine::Mean, ..Spec::new(h, 12) }).unwrap().mean; (f.clone(), f.clone(), f) }
        };
        tot += mase(x, y, &f); tot_e += mase(x, y, &fe); tot_t += mase(x,y,&ft);
    }
    let el = cpu() - c0;
    println!("{what}: ens MASE {:.4} ets {:.4} theta {:.4}  {:.2} ms/series", tot / n as f64, tot_e / n as f64, tot_t / n as f64, 1e3 * el / n as f64);
}
