//! The hold-out check behind "success" and "prediction accuracy": a rolling-origin
//! backtest that refits the forecaster at the last few origins and scores its forecasts
//! against what happened, as 1 − WAPE. Scores of many SKUs pool by summing, so a run's
//! accuracy weighs SKUs by volume (what the guide's scaling trigger reads).

use super::forecaster::{Forecaster, ForecasterError};
use serde::{Deserialize, Serialize};

/// How to backtest and what counts as accurate enough.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BacktestOptions {
    /// Forecast origins, each `h` periods apart (default 3; 0 skips the backtest).
    pub windows: usize,
    /// Lowest accepted run accuracy, 1 − WAPE (default 0.5).
    pub accuracy_floor: f64,
}

impl Default for BacktestOptions {
    fn default() -> Self {
        Self {
            windows: 3,
            accuracy_floor: 0.5,
        }
    }
}

/// Absolute errors and actuals of a backtest; add scores to pool them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Sum of |actual − forecast|.
    pub abs_error: f64,
    /// Sum of |actual|.
    pub actual: f64,
    /// Forecasts scored.
    pub points: usize,
}

impl Score {
    /// 1 − WAPE; `None` when nothing was scored or nothing was sold in the hold-out.
    pub fn accuracy(&self) -> Option<f64> {
        (self.points > 0 && self.actual > 0.0).then(|| 1.0 - self.abs_error / self.actual)
    }
}

impl std::ops::Add for Score {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            abs_error: self.abs_error + o.abs_error,
            actual: self.actual + o.actual,
            points: self.points + o.points,
        }
    }
}

/// Backtests `history` at `windows` origins. Each window forecasts `h` periods, where `h`
/// is `horizon` shortened so that the first origin keeps at least half of the history
/// for fitting; too short a history scores nothing.
pub fn backtest(
    history: &[f64],
    horizon: usize,
    season_length: usize,
    windows: usize,
    forecaster: &dyn Forecaster,
) -> Result<Score, ForecasterError> {
    let n = history.len();
    if windows == 0 {
        return Ok(Score::default());
    }
    let h = horizon.min(n / (2 * windows));
    if h == 0 {
        return Ok(Score::default());
    }
    let mut score = Score::default();
    for k in (1..=windows).rev() {
        let origin = n - k * h;
        let p = forecaster.forecast(&history[..origin], h, season_length)?;
        for (actual, forecast) in history[origin..origin + h].iter().zip(&p.mean) {
            score.abs_error += (actual - forecast).abs();
            score.actual += actual.abs();
            score.points += 1;
        }
    }
    Ok(score)
}

#[cfg(test)]
mod tests {
    use super::super::forecaster::Prediction;
    use super::*;

    /// Forecasts the last value, and records the origins it was asked about.
    struct Naive(std::sync::Mutex<Vec<usize>>);

    impl Forecaster for Naive {
        fn forecast(
            &self,
            h: &[f64],
            horizon: usize,
            _: usize,
        ) -> Result<Prediction, ForecasterError> {
            self.0
                .lock()
                .map_err(|_| ForecasterError("poisoned".into()))?
                .push(h.len());
            Ok(Prediction {
                model: "naive".into(),
                mean: vec![*h.last().unwrap_or(&0.0); horizon],
                error_sd: 0.0,
            })
        }
    }

    #[test]
    fn rolls_the_origin_and_scores_one_minus_wape() {
        let history: Vec<f64> = (1..=12).map(f64::from).collect();
        let naive = Naive(Default::default());
        let s = backtest(&history, 2, 1, 3, &naive).expect("backtest");
        assert_eq!(*naive.0.lock().expect("origins"), vec![6, 8, 10]);
        // Origin 6: forecasts 6,6 for 7,8; origin 8: 8,8 for 9,10; origin 10: 10,10 for 11,12.
        assert_eq!(s.points, 6);
        assert_eq!(s.abs_error, 6.0 * 1.5);
        assert_eq!(s.actual, 7.0 + 8.0 + 9.0 + 10.0 + 11.0 + 12.0);
        assert!((s.accuracy().expect("scored") - (1.0 - 9.0 / 57.0)).abs() < 1e-12);
        assert_eq!(
            backtest(&history[..3], 2, 1, 3, &naive).expect("short"),
            Score::default()
        );
        assert_eq!(Score::default().accuracy(), None);
    }
}
