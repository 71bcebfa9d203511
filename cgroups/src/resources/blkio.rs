//! blockIO: weight, leafWeight, weightDevice, throttle read/write bps/iops.
//!
//! v1 (runc fs/blkio.go): blkio.weight(_device) when CFQ's files exist, else the BFQ ones
//! (blkio.bfq.weight(_device)); leaf weights; one write per throttle device
//! ("major:minor rate").
//!
//! v2 (runc fs2/io.go): io.bfq.weight when BFQ is available (device weights too when the
//! kernel takes them there), else io.weight = 1 + (weight − 10) × 9999 / 990; throttles go to
//! io.max as "major:minor rbps=N" (wbps, riops, wiops). Leaf weights do not exist on v2.

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use crate::error::Result;
use crate::fs::CgDir;

fn throttles(
    b: &LinuxBlockIo,
) -> [(
    &Option<Vec<LinuxThrottleDevice>>,
    &'static str,
    &'static str,
); 4] {
    [
        (
            b.throttle_read_bps_device(),
            "blkio.throttle.read_bps_device",
            "rbps",
        ),
        (
            b.throttle_write_bps_device(),
            "blkio.throttle.write_bps_device",
            "wbps",
        ),
        (
            b.throttle_read_iops_device(),
            "blkio.throttle.read_iops_device",
            "riops",
        ),
        (
            b.throttle_write_iops_device(),
            "blkio.throttle.write_iops_device",
            "wiops",
        ),
    ]
}

pub(crate) fn first_set(b: &LinuxBlockIo) -> Option<&'static str> {
    if b.weight().is_some_and(|w| w != 0) {
        return Some("blockIO.weight");
    }
    if b.leaf_weight().is_some_and(|w| w != 0) {
        return Some("blockIO.leafWeight");
    }
    if b.weight_device().as_ref().is_some_and(|v| !v.is_empty()) {
        return Some("blockIO.weightDevice");
    }
    let names = [
        "blockIO.throttleReadBpsDevice",
        "blockIO.throttleWriteBpsDevice",
        "blockIO.throttleReadIOPSDevice",
        "blockIO.throttleWriteIOPSDevice",
    ];
    for ((list, _, _), name) in throttles(b).into_iter().zip(names) {
        if list.as_ref().is_some_and(|v| !v.is_empty()) {
            return Some(name);
        }
    }
    None
}

pub(crate) fn set_v1(d: CgDir<'_>, b: &LinuxBlockIo) -> Result<()> {
    let (weight_file, weight_dev_file) = if d.exists("blkio.weight") {
        ("blkio.weight", "blkio.weight_device")
    } else {
        ("blkio.bfq.weight", "blkio.bfq.weight_device")
    };
    if let Some(w) = b.weight().filter(|&w| w != 0) {
        d.write(weight_file, &w.to_string())?;
    }
    if let Some(w) = b.leaf_weight().filter(|&w| w != 0) {
        d.write("blkio.leaf_weight", &w.to_string())?;
    }
    for wd in b.weight_device().iter().flatten() {
        if let Some(w) = wd.weight().filter(|&w| w != 0) {
            d.write(
                weight_dev_file,
                &format!("{}:{} {}", wd.major(), wd.minor(), w),
            )?;
        }
        if let Some(w) = wd.leaf_weight().filter(|&w| w != 0) {
            d.write(
                "blkio.leaf_weight_device",
                &format!("{}:{} {}", wd.major(), wd.minor(), w),
            )?;
        }
    }
    for (list, file, _) in throttles(b) {
        for td in list.iter().flatten() {
            d.write(
                file,
                &format!("{}:{} {}", td.major(), td.minor(), td.rate()),
            )?;
        }
    }
    Ok(())
}

/// runc's `ConvertBlkIOToIOWeightValue`: blkio weight [10..1000] → io.weight [1..10000].
pub fn blkio_weight_to_io_weight(w: u16) -> u64 {
    if w == 0 {
        return 0;
    }
    1 + (u64::from(w).saturating_sub(10)) * 9999 / 990
}

pub(crate) fn set_v2(d: CgDir<'_>, b: &LinuxBlockIo) -> Result<()> {
    let weight = b.weight().filter(|&w| w != 0);
    let devs: Vec<_> = b
        .weight_device()
        .iter()
        .flatten()
        .filter_map(|wd| {
            wd.weight()
                .filter(|&w| w != 0)
                .map(|w| (wd.major(), wd.minor(), w))
        })
        .collect();
    let bfq = d.exists("io.bfq.weight");
    if let Some(w) = weight {
        if bfq {
            d.write("io.bfq.weight", &w.to_string())?;
        } else {
            d.write("io.weight", &blkio_weight_to_io_weight(w).to_string())?;
        }
    }
    // Per-device BFQ weights exist since Linux 5.4: io.bfq.weight then reads "default N" plus
    // device lines instead of a bare number.
    if bfq && !devs.is_empty() {
        let cur = d.read("io.bfq.weight")?;
        if cur.trim().parse::<u64>().is_err() {
            for (maj, min, w) in devs {
                d.write("io.bfq.weight", &format!("{maj}:{min} {w}"))?;
            }
        }
    }
    for (list, _, key) in throttles(b) {
        for td in list.iter().flatten() {
            d.write(
                "io.max",
                &format!("{}:{} {}={}", td.major(), td.minor(), key, td.rate()),
            )?;
        }
    }
    Ok(())
}
