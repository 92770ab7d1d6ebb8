//! Unit tests of the ARIMA fit: known processes are recovered and forecasts follow the
//! model's recursions.

use super::*;

/// A fixed pseudo-random standard-ish normal stream (sum of uniforms, centred).
fn noise(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    let mut uniform = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| (0..12).map(|_| uniform()).sum::<f64>() - 6.0)
        .collect()
}

#[test]
fn css_recovers_an_ar1_with_mean() {
    let e = noise(400, 7);
    let mut y = vec![10.0];
    for t in 1..400 {
        y.push(10.0 + 0.6 * (y[t - 1] - 10.0) + e[t]);
    }
    let order = Order {
        p: 1,
        d: 0,
        q: 0,
        sp: 0,
        sd: 0,
        sq: 0,
        m: 1,
        constant: true,
    };
    let fit = css::fit(&y, &order).expect("fits");
    assert!((fit.x[0] - 0.6).abs() < 0.08, "phi {}", fit.x[0]);
    assert!((fit.x[1] - 10.0).abs() < 0.3, "mu {}", fit.x[1]);
    assert!((fit.sigma2 - 1.0).abs() < 0.2, "sigma2 {}", fit.sigma2);
}

#[test]
fn css_recovers_a_seasonal_ma() {
    let e = noise(300, 11);
    let w: Vec<f64> = (0..300)
        .map(|t| {
            e[t] - 0.4 * if t >= 1 { e[t - 1] } else { 0.0 }
                - 0.5 * if t >= 4 { e[t - 4] } else { 0.0 }
                + 0.2 * if t >= 5 { e[t - 5] } else { 0.0 }
        })
        .collect();
    let order = Order {
        p: 0,
        d: 0,
        q: 1,
        sp: 0,
        sd: 0,
        sq: 1,
        m: 4,
        constant: false,
    };
    let fit = css::fit(&w, &order).expect("fits");
    assert!((fit.x[0] + 0.4).abs() < 0.1, "theta {}", fit.x[0]);
    assert!((fit.x[1] + 0.5).abs() < 0.1, "Theta {}", fit.x[1]);
}

#[test]
fn roots_inside_the_margin_are_rejected() {
    let ar1 = Order {
        p: 1,
        d: 0,
        q: 0,
        sp: 0,
        sd: 0,
        sq: 0,
        m: 1,
        constant: false,
    };
    assert!(css::admissible(&ar1, &[0.98], 1.01));
    assert!(!css::admissible(&ar1, &[0.995], 1.01));
    let sma = Order {
        p: 0,
        d: 0,
        q: 0,
        sp: 0,
        sd: 0,
        sq: 1,
        m: 12,
        constant: false,
    };
    // Θ = -0.9: roots at |z| = 0.9^(-1/12) ≈ 1.0088 < 1.01.
    assert!(!css::admissible(&sma, &[-0.9], 1.01));
    assert!(css::admissible(&sma, &[-0.8], 1.01));
}

#[test]
fn random_walk_with_drift_forecasts_a_line_with_growing_variance() {
    let e = noise(120, 3);
    let y: Vec<f64> = e
        .iter()
        .scan(50.0, |s, v| {
            *s += 0.5 + v;
            Some(*s)
        })
        .collect();
    let fit = auto(&y, 1).expect("fits");
    assert_eq!(fit.order.d, 1, "{}", fit.order);
    let f = fit.forecast(4);
    if fit.order.p == 0 && fit.order.q == 0 {
        let drift = fit.coef[0];
        for (i, v) in f.iter().enumerate() {
            assert!((v - (y[119] + drift * (i + 1) as f64)).abs() < 1e-9);
        }
        assert_eq!(fit.psi_weights(4), vec![1.0; 4]);
    }
    assert!(f.iter().all(|v| v.is_finite()));
}

#[test]
fn airline_model_forecasts_repeat_the_seasonal_pattern() {
    // A seasonal random walk with a fixed pattern: forecasts track last year's shape.
    let e = noise(96, 5);
    let y: Vec<f64> = (0..96)
        .map(|t| 200.0 + 2.0 * t as f64 + 30.0 * ((t % 12) as f64 / 2.0).sin() + 2.0 * e[t])
        .collect();
    let fit = auto(&y, 12).expect("fits");
    assert_eq!(fit.order.sd, 1, "{}", fit.order);
    let f = fit.forecast(12);
    for (i, v) in f.iter().enumerate() {
        let last_year = y[84 + i];
        assert!(
            (v - last_year - 24.0).abs() < 12.0,
            "h={i}: {v} vs {last_year}"
        );
    }
    let psi = fit.psi_weights(13);
    assert_eq!(psi[0], 1.0);
    assert!(psi.iter().all(|v| v.is_finite()));
}

/// ARIMA(1,1,1)(0,1,1)12.
const AIRLINE: Order = Order {
    p: 1,
    d: 1,
    q: 1,
    sp: 0,
    sd: 1,
    sq: 1,
    m: 12,
    constant: false,
};

/// One filter pass gives every origin the forecasts that filtering its own history
/// alone gives, through seasonal and ordinary differences.
#[test]
fn forecasts_from_origins_match_filtering_each_history_alone() {
    let e = noise(96, 11);
    let y: Vec<f64> = (0..96)
        .map(|t| 50.0 + 0.3 * t as f64 + 8.0 * ((t % 12) as f64 / 2.0).sin() + e[t])
        .collect();
    let order = AIRLINE;
    let fit = fit(&y, order).expect("fits");
    let origins = [10, 13, 14, 40, 77, 96];
    let paths = fit.forecasts_from(&y, &origins, 5);
    for (&t, path) in origins.iter().zip(&paths) {
        let alone = stages(&y[..t], &order);
        let w = &alone[alone.len() - 1].0;
        let expected = if w.is_empty() {
            vec![f64::NAN; 5]
        } else {
            let next = kalman::run(w, &order, &fit.coef, |_, _| {})
                .expect("filters")
                .next;
            fit.path(&alone, 0, &next, 5)
        };
        for (a, b) in path.iter().zip(&expected) {
            assert!(
                (a.is_nan() && b.is_nan()) || (a - b).abs() < 1e-9,
                "origin {t}: {path:?} against {expected:?}"
            );
        }
    }
    assert_eq!(paths[5], fit.forecast(5));
}

#[test]
fn a_refit_keeps_the_orders_and_fits_the_history_it_is_given() {
    let e = noise(96, 5);
    let y: Vec<f64> = (0..96)
        .map(|t| 30.0 + 0.2 * t as f64 + 6.0 * ((t % 12) as f64 / 2.0).cos() + e[t])
        .collect();
    let order = AIRLINE;
    let full = fit(&y, order).expect("fits");
    let head = refit(&y[..80], &full).expect("refits");
    assert_eq!((head.order, head.fitted.len()), (full.order, 80));
    // Its forecasts from the head's end are its own, not the full fit's.
    let from_head = head.forecasts_from(&y, &[80], 4);
    assert_eq!(from_head[0], head.forecast(4));
    assert_ne!(from_head, full.forecasts_from(&y, &[80], 4));
}
