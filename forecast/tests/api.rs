//! The public contract the inventory agent and `scf forecast` rely on.

use scf_forecast::{Combine, ForecastError, METHODS, Method, Spec, forecast, lead_time_quantile};

/// A positive monthly series with trend and multiplicative seasonality.
fn seasonal() -> Vec<f64> {
    (0..72)
        .map(|t| {
            let season = 1.0 + 0.3 * (2.0 * std::f64::consts::PI * t as f64 / 12.0).sin();
            (100.0 + 1.5 * t as f64) * season + ((t * 7919) % 13) as f64 - 6.0
        })
        .collect()
}

fn intermittent() -> Vec<f64> {
    (0..40)
        .map(|t| {
            if (t * 37) % 5 == 0 {
                ((t * 13) % 7 + 1) as f64
            } else {
                0.0
            }
        })
        .collect()
}

#[test]
fn auto_routes_intermittent_and_regular_series() {
    let f = forecast(&intermittent(), &Spec::new(6, 12)).expect("forecasts");
    assert_eq!(f.model, "Mean(ADIDA, IMAPA, SeasonLevel)");
    assert!(
        f.mean.iter().all(|&v| v > 0.0 && v == f.mean[0]),
        "flat positive: {:?}",
        f.mean
    );
    let g = forecast(&seasonal(), &Spec::new(12, 12)).expect("forecasts");
    assert!(g.model.starts_with("Ensemble(mean: ETS("), "{}", g.model);
    assert!(g.model.contains("Theta("), "{}", g.model);
}

#[test]
fn forecast_follows_a_seasonal_pattern_and_fits_in_sample() {
    let y = seasonal();
    for method in [Method::Ets, Method::Theta, Method::Ensemble] {
        let f = forecast(
            &y,
            &Spec {
                method,
                ..Spec::new(12, 12)
            },
        )
        .expect("forecasts");
        assert_eq!(f.mean.len(), 12);
        assert_eq!((f.fitted.len(), f.residuals.len()), (y.len(), y.len()));
        // Next year's peak (around t = 75) sits well above its trough (around t = 81).
        assert!(f.mean[3] > f.mean[9] * 1.3, "{method}: {:?}", f.mean);
        let rmse = (f.residuals.iter().skip(12).map(|e| e * e).sum::<f64>() / 60.0).sqrt();
        assert!(rmse < 12.0, "{method}: in-sample RMSE {rmse}");
    }
}

#[test]
fn intervals_widen_with_the_horizon_and_nest_by_level() {
    let f = forecast(
        &seasonal(),
        &Spec {
            method: Method::Ets,
            ..Spec::new(12, 12)
        },
    )
    .expect("forecasts");
    let (lo80, hi80) = f.interval(80.0);
    let (lo95, hi95) = f.interval(95.0);
    for h in 0..12 {
        assert!(
            lo95[h] < lo80[h] && lo80[h] < f.mean[h] && f.mean[h] < hi80[h] && hi80[h] < hi95[h],
            "h={h}"
        );
    }
    // Relative width, since a multiplicative model scales the spread with the season. The
    // first step is exact and the later ones are simulated (2,000 paths, whose 2.5 % and
    // 97.5 % quantiles are each off by about 2 % of the width): with the small gains
    // fitted here the spread hardly grows, so the simulation's error is allowed for.
    let relative = |h: usize| (hi95[h] - lo95[h]) / f.mean[h];
    assert!(
        relative(11) > 0.97 * relative(0),
        "{} vs {}",
        relative(11),
        relative(0)
    );
}

#[test]
fn lead_time_quantiles_grow_with_lead_time_and_level() {
    for y in [seasonal(), intermittent()] {
        for method in [
            Method::Auto,
            Method::Ets,
            Method::Theta,
            Method::Ensemble,
            Method::Croston,
        ] {
            let f = forecast(
                &y,
                &Spec {
                    method,
                    ..Spec::new(12, 12)
                },
            )
            .expect("forecasts");
            let total3: f64 = f.mean[..3].iter().sum();
            let q50 = lead_time_quantile(&f, 3, 0.5);
            assert!(
                (q50 - total3).abs() < 0.05 * total3.abs().max(1.0),
                "{method}: median {q50} vs sum {total3}"
            );
            assert!(lead_time_quantile(&f, 3, 0.95) > q50, "{method}");
            assert!(
                lead_time_quantile(&f, 6, 0.95) > lead_time_quantile(&f, 3, 0.95),
                "{method}"
            );
            assert!(
                lead_time_quantile(&f, 3, 0.05) >= 0.0,
                "{method}: non-negative history"
            );
        }
    }
}

#[test]
fn ensemble_weighs_screened_ets_autotheta_dotm_and_arima() {
    use scf_forecast::ets::{self, Candidates, Screening};
    use scf_forecast::theta::{self, Variant};
    let y = seasonal();
    let screened = Candidates {
        screening: Some(Screening {
            iterations: 100,
            keep: 3,
            cut: None,
        }),
        ..Candidates::FULL
    };
    let all = [Variant::Stm, Variant::Otm, Variant::Dstm, Variant::Dotm];
    let members = [
        ets::auto(&y, 12, screened).expect("ETS fits").forecast(6),
        theta::auto(&y, 12, &all).expect("Theta fits").forecast(6),
        theta::auto(&y, 12, &[Variant::Dotm])
            .expect("DOTM fits")
            .forecast(6),
        scf_forecast::arima::auto(&y, 12)
            .expect("ARIMA fits")
            .forecast(6),
    ];
    for (combine, label) in [(Combine::Mean, "mean"), (Combine::Median, "median")] {
        let spec = Spec {
            method: Method::Ensemble,
            combine,
            ..Spec::new(6, 12)
        };
        let f = forecast(&y, &spec).expect("forecasts");
        assert!(
            f.model.starts_with(&format!("Ensemble({label}: ETS(")),
            "{}",
            f.model
        );
        // The weights are printed in the name, two decimals each.
        let weights: Vec<f64> = f
            .model
            .split(", ")
            .map(|m| m.trim_end_matches(')').rsplit(' ').next().expect("weight"))
            .map(|w| w.parse().expect("a number"))
            .collect();
        assert_eq!(weights.len(), 4, "{}", f.model);
        assert!(
            (weights.iter().sum::<f64>() - 1.0).abs() < 0.02,
            "{weights:?}"
        );
        for h in 0..6 {
            let want = combine.apply(&members.iter().map(|m| m[h]).collect::<Vec<_>>(), &weights);
            assert!(
                (f.mean[h] - want).abs() < 0.01 * want.abs(),
                "{label} h={h}: {} vs {want}",
                f.mean[h]
            );
        }
    }
}

#[test]
fn rejects_unusable_input() {
    let spec = Spec::new(3, 1);
    assert_eq!(forecast(&[], &spec).err(), Some(ForecastError::Empty));
    assert_eq!(
        forecast(&[1.0, f64::NAN], &spec).err(),
        Some(ForecastError::NotFinite { index: 1 })
    );
    assert_eq!(
        forecast(&[1.0], &Spec::new(0, 1)).err(),
        Some(ForecastError::ZeroHorizon)
    );
}

#[test]
fn very_short_and_constant_series_still_forecast() {
    let f = forecast(&[5.0, 7.0], &Spec::new(2, 12)).expect("forecasts");
    assert_eq!(f.mean.len(), 2);
    let c = forecast(
        &[4.0; 30],
        &Spec {
            method: Method::Ets,
            ..Spec::new(3, 12)
        },
    )
    .expect("forecasts");
    assert!(
        c.mean.iter().all(|v| (v - 4.0).abs() < 1e-9),
        "{:?}",
        c.mean
    );
}

#[test]
fn method_names_round_trip() {
    for (name, method) in METHODS {
        assert_eq!(name.parse::<Method>(), Ok(method));
        assert_eq!(method.to_string(), name);
    }
    assert!("sarima".parse::<Method>().is_err());
}

#[test]
fn every_method_gives_finite_forecasts_on_awkward_series() {
    let awkward: Vec<(&str, Vec<f64>)> = vec![
        ("single value", vec![3.0]),
        ("all zeros", vec![0.0; 24]),
        (
            "negative and positive",
            (0..40).map(|t| ((t * 17) % 9) as f64 - 4.0).collect(),
        ),
        (
            "shorter than three seasons",
            (0..30).map(|t| 10.0 + (t % 12) as f64).collect(),
        ),
        (
            "season of two",
            (0..20).map(|t| 5.0 + (t % 2) as f64 * 3.0).collect(),
        ),
        (
            "huge values",
            (0..50).map(|t| 1e12 * (1.0 + 0.01 * t as f64)).collect(),
        ),
        (
            "one spike",
            (0..36).map(|t| if t == 20 { 100.0 } else { 0.0 }).collect(),
        ),
    ];
    for (label, y) in &awkward {
        for (name, method) in METHODS {
            for season in [1, 2, 12] {
                let spec = Spec {
                    method,
                    ..Spec::new(5, season)
                };
                let f = forecast(y, &spec).unwrap_or_else(|e| panic!("{label}, {name}: {e}"));
                assert!(
                    f.mean.iter().all(|v| v.is_finite()),
                    "{label}, {name}, m={season}: {:?}",
                    f.mean
                );
                let (lo, hi) = f.interval(90.0);
                assert!(
                    lo.iter().chain(&hi).all(|v| v.is_finite()),
                    "{label}, {name}: interval"
                );
                assert!(
                    lead_time_quantile(&f, 3, 0.9).is_finite(),
                    "{label}, {name}: lead time"
                );
            }
        }
    }
}

/// Coverage of the `auto` intervals on 60 simulated local-linear-trend series (level and
/// slope both wander, as in yearly data), 8 steps ahead of 40 observations. The members'
/// own intervals cover 62.9 % and 77.7 % here; the widening by the validation errors
/// brings that to 66.0 % and 81.0 %. Like M3 yearly, this stays short of nominal: the
/// bounds catch a calibration that is dropped or that overshoots.
#[test]
fn auto_intervals_cover_simulated_trending_series_near_nominal() {
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = ChaCha8Rng::seed_from_u64(19);
    let mut draw = || <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng);
    let (n, h) = (40, 8);
    let mut inside = [0usize; 2];
    let mut total = 0usize;
    for _ in 0..60 {
        let (mut level, mut slope) = (100.0, 1.0);
        let y: Vec<f64> = (0..n + h)
            .map(|_| {
                slope += 0.3 * draw();
                level += slope + draw();
                level + 2.0 * draw()
            })
            .collect();
        let f = forecast(&y[..n], &Spec::new(h, 1)).expect("forecasts");
        for (k, level) in [80.0, 95.0].into_iter().enumerate() {
            let (lo, hi) = f.interval(level);
            inside[k] += (0..h)
                .filter(|&j| lo[j] <= y[n + j] && y[n + j] <= hi[j])
                .count();
        }
        total += h;
    }
    let coverage = inside.map(|c| 100.0 * c as f64 / total as f64);
    assert!((64.5..=86.0).contains(&coverage[0]), "80 %: {coverage:?}");
    assert!((79.5..=98.0).contains(&coverage[1]), "95 %: {coverage:?}");
}

#[test]
fn the_first_quantile_is_the_first_horizon_of_the_quantiles() {
    // A multiplicative seasonal series (simulated ETS), a linear one, and the ensemble.
    let quarterly: Vec<f64> = (0..48)
        .map(|t| (40.0 + t as f64) * [1.3, 0.8, 1.1, 0.7][t % 4] + ((t * 7) % 5) as f64)
        .collect();
    let linear: Vec<f64> = (0..40).map(|t| 10.0 + ((t * 13) % 7) as f64).collect();
    for (y, m) in [(&quarterly, 4), (&linear, 1)] {
        for method in [Method::Ets, Method::Ensemble, Method::Arima] {
            let spec = Spec {
                method,
                ..Spec::new(6, m)
            };
            let f = forecast(y, &spec).expect("forecasts");
            for q in [0.05, 0.5, 0.95] {
                // First alone, before the later horizons (and a combination's
                // widening factors) have been computed.
                let got = f.first_quantile(q).expect("a horizon");
                let want = f.quantiles(q)[0];
                assert!(
                    (got - want).abs() <= 1e-9 * want.abs(),
                    "{} q={q}: {got} vs {want}",
                    f.model
                );
            }
        }
    }
}
