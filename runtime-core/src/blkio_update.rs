//! `update`'s blockIO (runc 1.4, #4775): the weight, the leaf weight, per-device weights and the
//! four per-device throttles. A zero weight leaves the weight alone (runc: the cgroup writers
//! skip 0); device entries are upserted into the stored ones by major:minor (runc's
//! `upsertWeightDevice`/`upsertThrottleDevice`: an existing device gets the new values, the
//! last one when it is listed twice, a new one is appended).

use oci_spec::runtime::{
    LinuxBlockIo, LinuxThrottleDevice, LinuxWeightDevice, LinuxWeightDeviceBuilder,
};

/// A throttle list's getter and setter.
type ThrottleGet = fn(&LinuxBlockIo) -> &Option<Vec<LinuxThrottleDevice>>;
type ThrottleSet = fn(&mut LinuxBlockIo, Option<Vec<LinuxThrottleDevice>>) -> &mut LinuxBlockIo;

/// What of `b` an update applies; `None` when it sets nothing.
pub(crate) fn wanted(b: &LinuxBlockIo) -> Option<LinuxBlockIo> {
    let mut out = LinuxBlockIo::default();
    out.set_weight(b.weight().filter(|&w| w != 0));
    out.set_leaf_weight(b.leaf_weight().filter(|&w| w != 0));
    let nonempty_w = |v: &Option<Vec<LinuxWeightDevice>>| v.clone().filter(|v| !v.is_empty());
    let nonempty_t = |v: &Option<Vec<LinuxThrottleDevice>>| v.clone().filter(|v| !v.is_empty());
    out.set_weight_device(nonempty_w(b.weight_device()));
    out.set_throttle_read_bps_device(nonempty_t(b.throttle_read_bps_device()));
    out.set_throttle_write_bps_device(nonempty_t(b.throttle_write_bps_device()));
    out.set_throttle_read_iops_device(nonempty_t(b.throttle_read_iops_device()));
    out.set_throttle_write_iops_device(nonempty_t(b.throttle_write_iops_device()));
    (out != LinuxBlockIo::default()).then_some(out)
}

/// `old` with `new` (from [`wanted`]) merged in, as the stored spec keeps it.
pub(crate) fn merge(old: Option<&LinuxBlockIo>, new: &LinuxBlockIo) -> LinuxBlockIo {
    let mut out = old.cloned().unwrap_or_default();
    if new.weight().is_some() {
        out.set_weight(new.weight());
    }
    if new.leaf_weight().is_some() {
        out.set_leaf_weight(new.leaf_weight());
    }
    if let Some(list) = new.weight_device() {
        let mut all = out.weight_device().clone().unwrap_or_default();
        for wd in list {
            upsert_weight(&mut all, wd);
        }
        out.set_weight_device(Some(all));
    }
    let throttles: [(ThrottleGet, ThrottleSet); 4] = [
        (
            LinuxBlockIo::throttle_read_bps_device,
            LinuxBlockIo::set_throttle_read_bps_device,
        ),
        (
            LinuxBlockIo::throttle_write_bps_device,
            LinuxBlockIo::set_throttle_write_bps_device,
        ),
        (
            LinuxBlockIo::throttle_read_iops_device,
            LinuxBlockIo::set_throttle_read_iops_device,
        ),
        (
            LinuxBlockIo::throttle_write_iops_device,
            LinuxBlockIo::set_throttle_write_iops_device,
        ),
    ];
    for (get, set) in throttles {
        if let Some(list) = get(new) {
            let mut all = get(&out).clone().unwrap_or_default();
            for td in list {
                upsert_throttle(&mut all, td);
            }
            set(&mut out, Some(all));
        }
    }
    out
}

fn upsert_weight(all: &mut Vec<LinuxWeightDevice>, wd: &LinuxWeightDevice) {
    let same = |d: &&mut LinuxWeightDevice| d.major() == wd.major() && d.minor() == wd.minor();
    match all.iter_mut().rev().find(same) {
        Some(d) => {
            let weight = wd.weight().or(d.weight());
            let leaf = wd.leaf_weight().or(d.leaf_weight());
            let mut b = LinuxWeightDeviceBuilder::default()
                .major(d.major())
                .minor(d.minor());
            if let Some(w) = weight {
                b = b.weight(w);
            }
            if let Some(w) = leaf {
                b = b.leaf_weight(w);
            }
            *d = b.build().unwrap_or(*d);
        }
        None => all.push(*wd),
    }
}

fn upsert_throttle(all: &mut Vec<LinuxThrottleDevice>, td: &LinuxThrottleDevice) {
    let same = |d: &&mut LinuxThrottleDevice| d.major() == td.major() && d.minor() == td.minor();
    match all.iter_mut().rev().find(same) {
        // Same device: the new rate (the value is all there is besides the device).
        Some(d) => *d = *td,
        None => all.push(*td),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blkio(json: serde_json::Value) -> LinuxBlockIo {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn nothing_set_is_nothing_to_update() {
        assert!(wanted(&blkio(serde_json::json!({"weight": 0}))).is_none());
        assert!(wanted(&blkio(serde_json::json!({"weightDevice": []}))).is_none());
        let w = wanted(&blkio(serde_json::json!({
            "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 100}]
        })))
        .unwrap();
        assert!(w.weight().is_none());
        assert_eq!(w.throttle_read_bps_device().as_ref().unwrap().len(), 1);
    }

    #[test]
    fn devices_are_upserted_by_major_minor_like_runc() {
        let old = blkio(serde_json::json!({
            "weight": 300,
            "weightDevice": [{"major": 8, "minor": 0, "weight": 100, "leafWeight": 50}],
            "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 100}]
        }));
        let new = wanted(&blkio(serde_json::json!({
            "weightDevice": [{"major": 8, "minor": 0, "weight": 200},
                             {"major": 8, "minor": 16, "weight": 10}],
            "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 5}],
            "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 7}]
        })))
        .unwrap();
        let m = merge(Some(&old), &new);
        assert_eq!(m.weight(), Some(300));
        let wd = m.weight_device().as_ref().unwrap();
        assert_eq!(wd.len(), 2);
        assert_eq!((wd[0].weight(), wd[0].leaf_weight()), (Some(200), Some(50)));
        assert_eq!((wd[1].minor(), wd[1].weight()), (16, Some(10)));
        let r = m.throttle_read_bps_device().as_ref().unwrap();
        assert_eq!((r.len(), r[0].rate()), (1, 5));
        assert_eq!(
            m.throttle_write_iops_device().as_ref().unwrap()[0].rate(),
            7
        );
    }
}
