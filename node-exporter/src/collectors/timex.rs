//! Kernel clock discipline state from adjtimex(2).

use exporter_kit::exposition::{MetricSet, MetricType};

use crate::collector::{CollectError, Collector, Registration};

pub const REGISTRATION: Registration = Registration {
    name: "timex",
    enabled_by_default: true,
    build: |_| Ok(Box::new(Timex)),
};

struct Timex;

const TIME_ERROR: i32 = 5;
const STA_NANO: i32 = 0x2000;
const PPM16_FRAC: f64 = 1_000_000.0 * 65536.0;

impl Collector for Timex {
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let mut timex = std::mem::MaybeUninit::<libc::timex>::zeroed();
        // SAFETY: with `modes` 0 (the zeroed struct) adjtimex only reads the
        // clock state into the struct we own; it returns -1 on error.
        let state = unsafe { libc::adjtimex(timex.as_mut_ptr()) };
        if state == -1 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::PermissionDenied {
                return Err(CollectError::NoData(
                    "not permitted to read adjtimex".into(),
                ));
            }
            return Err(CollectError::io("adjtimex".as_ref(), error));
        }
        // SAFETY: adjtimex succeeded and filled the struct, which started
        // zeroed in any case.
        let t = unsafe { timex.assume_init() };
        let divisor = if t.status & STA_NANO != 0 { 1e9 } else { 1e6 };
        let gauge = MetricType::Gauge;
        let counter = MetricType::Counter;
        let synced = if state == TIME_ERROR { 0.0 } else { 1.0 };
        for (name, help, kind, value) in [
            (
                "node_timex_sync_status",
                "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
                gauge,
                synced,
            ),
            (
                "node_timex_offset_seconds",
                "Time offset in between local system and reference clock.",
                gauge,
                t.offset as f64 / divisor,
            ),
            (
                "node_timex_frequency_adjustment_ratio",
                "Local clock frequency adjustment.",
                gauge,
                1.0 + t.freq as f64 / PPM16_FRAC,
            ),
            (
                "node_timex_maxerror_seconds",
                "Maximum error in seconds.",
                gauge,
                t.maxerror as f64 / 1e6,
            ),
            (
                "node_timex_estimated_error_seconds",
                "Estimated error in seconds.",
                gauge,
                t.esterror as f64 / 1e6,
            ),
            (
                "node_timex_status",
                "Value of the status array bits.",
                gauge,
                t.status as f64,
            ),
            (
                "node_timex_loop_time_constant",
                "Phase-locked loop time constant.",
                gauge,
                t.constant as f64,
            ),
            (
                "node_timex_tick_seconds",
                "Seconds between clock ticks.",
                gauge,
                t.tick as f64 / 1e6,
            ),
            (
                "node_timex_pps_frequency_hertz",
                "Pulse per second frequency.",
                gauge,
                t.ppsfreq as f64 / PPM16_FRAC,
            ),
            (
                "node_timex_pps_jitter_seconds",
                "Pulse per second jitter.",
                gauge,
                t.jitter as f64 / divisor,
            ),
            (
                "node_timex_pps_shift_seconds",
                "Pulse per second interval duration.",
                gauge,
                t.shift as f64,
            ),
            (
                "node_timex_pps_stability_hertz",
                "Pulse per second stability, average of recent frequency changes.",
                gauge,
                t.stabil as f64 / PPM16_FRAC,
            ),
            (
                "node_timex_pps_jitter_total",
                "Pulse per second count of jitter limit exceeded events.",
                counter,
                t.jitcnt as f64,
            ),
            (
                "node_timex_pps_calibration_total",
                "Pulse per second count of calibration intervals.",
                counter,
                t.calcnt as f64,
            ),
            (
                "node_timex_pps_error_total",
                "Pulse per second count of calibration errors.",
                counter,
                t.errcnt as f64,
            ),
            (
                "node_timex_pps_stability_exceeded_total",
                "Pulse per second count of stability limit exceeded events.",
                counter,
                t.stbcnt as f64,
            ),
            (
                "node_timex_tai_offset_seconds",
                "International Atomic Time (TAI) offset.",
                gauge,
                t.tai as f64,
            ),
        ] {
            out.single(name, help, kind, value);
        }
        Ok(())
    }
}
