//! PersistentVolumes: `kube_persistentvolume_*`, identity label
//! `persistentvolume`.

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeSpec};

use super::Resource;
use super::common::{
    annotations, created, deletion_timestamp, labels, one_per_entry, quantity_value,
    state_set_if_set,
};
use crate::family::{Family, Series, experimental, stable};

impl Resource for PersistentVolume {
    const NAME: &'static str = "persistentvolumes";
    const NAME_LABEL: &'static str = "persistentvolume";

    fn families() -> &'static [Family<PersistentVolume>] {
        FAMILIES
    }
}

const FAMILIES: &[Family<PersistentVolume>] = &[
    stable(
        "kube_persistentvolume_claim_ref",
        "Information about the Persistent Volume Claim Reference.",
        |pv, series| {
            let claim = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
            if let Some(claim) = claim {
                series.add(
                    &[
                        ("name", claim.name.as_deref().unwrap_or_default()),
                        (
                            "claim_namespace",
                            claim.namespace.as_deref().unwrap_or_default(),
                        ),
                    ],
                    1.0,
                );
            }
        },
    ),
    experimental(
        "kube_persistentvolume_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    stable(
        "kube_persistentvolume_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    stable(
        "kube_persistentvolume_status_phase",
        "The phase indicates if a volume is available, bound to a claim, or released by a claim.",
        |pv, series| {
            // No series until the volume has a phase.
            let phase = pv.status.as_ref().and_then(|s| s.phase.as_deref());
            let phases = ["Pending", "Available", "Bound", "Released", "Failed"];
            state_set_if_set(series, "phase", &phases, phase);
        },
    ),
    stable(
        "kube_persistentvolume_info",
        "Information about persistentvolume.",
        |pv, series| {
            let default = PersistentVolumeSpec::default();
            volume_info(pv.spec.as_ref().unwrap_or(&default), series);
        },
    ),
    stable(
        "kube_persistentvolume_capacity_bytes",
        "Persistentvolume capacity in bytes.",
        |pv, series| {
            // Always a series: a volume without a storage capacity reads 0.
            let capacity = pv.spec.as_ref().and_then(|s| s.capacity.as_ref());
            let storage = capacity.and_then(|c| c.get("storage"));
            series.add(&[], storage.and_then(quantity_value).unwrap_or(0.0));
        },
    ),
    experimental(
        "kube_persistentvolume_created",
        "Unix creation timestamp",
        created,
    ),
    experimental(
        "kube_persistentvolume_deletion_timestamp",
        "Unix deletion timestamp",
        deletion_timestamp,
    ),
    experimental(
        "kube_persistentvolume_csi_attributes",
        "CSI attributes of the Persistent Volume.",
        |pv: &PersistentVolume, series| {
            let Some(csi) = pv.spec.as_ref().and_then(|s| s.csi.as_ref()) else {
                return;
            };
            // The two attributes of the Ceph CSI driver KSM reports.
            let attributes = csi.volume_attributes.as_ref();
            let attribute = |key: &str| {
                attributes
                    .and_then(|a| a.get(key))
                    .map(String::as_str)
                    .unwrap_or_default()
            };
            series.add(
                &[
                    ("csi_mounter", attribute("mounter")),
                    ("csi_map_options", attribute("mapOptions")),
                ],
                1.0,
            );
        },
    )
    .opt_in(),
    experimental(
        "kube_persistentvolume_volume_mode",
        "Volume Mode information for the PersistentVolume.",
        |pv, series| {
            // Kubernetes' default when the mode is not given.
            let mode = pv.spec.as_ref().and_then(|s| s.volume_mode.as_deref());
            series.add(&[("volumemode", mode.unwrap_or("Filesystem"))], 1.0);
        },
    ),
    experimental(
        "kube_persistentvolume_access_mode",
        "Access modes of the PersistentVolume.",
        |pv, series| {
            let modes = pv.spec.as_ref().and_then(|s| s.access_modes.as_deref());
            one_per_entry(series, "access_mode", modes);
        },
    ),
];

/// `kube_persistentvolume_info`: the storage class, the identifying fields
/// of the first volume source found (in KSM's order: GCE PD, AWS EBS, Azure
/// disk, FC, iSCSI, NFS, CSI, local, host path; others leave them all
/// empty) and the reclaim policy.
fn volume_info(spec: &PersistentVolumeSpec, series: &mut Series<'_>) {
    let mut gce_disk = "";
    let mut ebs_volume = "";
    let mut azure_disk = "";
    let (mut fc_wwids, mut fc_lun, mut fc_target_wwns) =
        (String::new(), String::new(), String::new());
    let (mut iscsi_portal, mut iscsi_iqn, mut iscsi_lun, mut iscsi_initiator) =
        ("", "", String::new(), "");
    let (mut nfs_server, mut nfs_path) = ("", "");
    let (mut csi_driver, mut csi_handle) = ("", "");
    let (mut local_path, mut local_fs) = ("", "");
    let (mut host_path, mut host_path_type) = ("", "");

    if let Some(gce) = &spec.gce_persistent_disk {
        gce_disk = &gce.pd_name;
    } else if let Some(ebs) = &spec.aws_elastic_block_store {
        ebs_volume = &ebs.volume_id;
    } else if let Some(azure) = &spec.azure_disk {
        azure_disk = &azure.disk_name;
    } else if let Some(fc) = &spec.fc {
        if let Some(lun) = fc.lun {
            fc_lun = lun.to_string();
        }
        fc_target_wwns = fc.target_wwns.as_deref().unwrap_or_default().join(",");
        fc_wwids = fc.wwids.as_deref().unwrap_or_default().join(",");
    } else if let Some(iscsi) = &spec.iscsi {
        iscsi_portal = &iscsi.target_portal;
        iscsi_iqn = &iscsi.iqn;
        iscsi_lun = iscsi.lun.to_string();
        iscsi_initiator = iscsi.initiator_name.as_deref().unwrap_or_default();
    } else if let Some(nfs) = &spec.nfs {
        nfs_server = &nfs.server;
        nfs_path = &nfs.path;
    } else if let Some(csi) = &spec.csi {
        csi_driver = &csi.driver;
        csi_handle = &csi.volume_handle;
    } else if let Some(local) = &spec.local {
        local_path = &local.path;
        local_fs = local.fs_type.as_deref().unwrap_or_default();
    } else if let Some(host) = &spec.host_path {
        host_path = &host.path;
        host_path_type = host.type_.as_deref().unwrap_or_default();
    }

    series.add(
        &[
            (
                "storageclass",
                spec.storage_class_name.as_deref().unwrap_or_default(),
            ),
            ("gce_persistent_disk_name", gce_disk),
            ("ebs_volume_id", ebs_volume),
            ("azure_disk_name", azure_disk),
            ("fc_wwids", &fc_wwids),
            ("fc_lun", &fc_lun),
            ("fc_target_wwns", &fc_target_wwns),
            ("iscsi_target_portal", iscsi_portal),
            ("iscsi_iqn", iscsi_iqn),
            ("iscsi_lun", &iscsi_lun),
            ("iscsi_initiator_name", iscsi_initiator),
            ("nfs_server", nfs_server),
            ("nfs_path", nfs_path),
            ("csi_driver", csi_driver),
            ("csi_volume_handle", csi_handle),
            ("local_path", local_path),
            ("local_fs", local_fs),
            ("host_path", host_path),
            ("host_path_type", host_path_type),
            (
                "reclaim_policy",
                spec.persistent_volume_reclaim_policy
                    .as_deref()
                    .unwrap_or_default(),
            ),
        ],
        1.0,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::{assert_contains, family, lines, lines_allowlisted, names};

    #[test]
    fn families_are_in_ksm_order() {
        assert_eq!(
            names::<PersistentVolume>(),
            [
                "kube_persistentvolume_claim_ref",
                "kube_persistentvolume_annotations",
                "kube_persistentvolume_labels",
                "kube_persistentvolume_status_phase",
                "kube_persistentvolume_info",
                "kube_persistentvolume_capacity_bytes",
                "kube_persistentvolume_created",
                "kube_persistentvolume_deletion_timestamp",
                "kube_persistentvolume_csi_attributes",
                "kube_persistentvolume_volume_mode",
                "kube_persistentvolume_access_mode",
            ]
        );
        let opt_in: Vec<&str> = FAMILIES
            .iter()
            .filter(|f| f.opt_in)
            .map(|f| f.name)
            .collect();
        assert_eq!(opt_in, ["kube_persistentvolume_csi_attributes"]);
    }

    /// The info line with the given source labels set and the others empty.
    fn info(pv: &str, class: &str, set: &[(&str, &str)], policy: &str) -> String {
        let names = [
            "gce_persistent_disk_name",
            "ebs_volume_id",
            "azure_disk_name",
            "fc_wwids",
            "fc_lun",
            "fc_target_wwns",
            "iscsi_target_portal",
            "iscsi_iqn",
            "iscsi_lun",
            "iscsi_initiator_name",
            "nfs_server",
            "nfs_path",
            "csi_driver",
            "csi_volume_handle",
            "local_path",
            "local_fs",
            "host_path",
            "host_path_type",
        ];
        let sources: Vec<String> = names
            .iter()
            .map(|name| {
                let value = set.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v);
                format!("{name}=\"{value}\"")
            })
            .collect();
        format!(
            "kube_persistentvolume_info{{persistentvolume=\"{pv}\",storageclass=\"{class}\",{},reclaim_policy=\"{policy}\"}} 1\n",
            sources.join(",")
        )
    }

    #[test]
    fn a_bound_csi_volume() {
        let object = serde_json::json!({
            "metadata": {
                "name": "pvc-7f3e", "uid": "v1",
                "creationTimestamp": "2024-02-01T08:00:05Z",
                "labels": {"topology.kubernetes.io/zone": "eu-west-1a"},
                "annotations": {"pv.kubernetes.io/provisioned-by": "ebs.csi.aws.com"}
            },
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "capacity": {"storage": "20Gi"},
                "claimRef": {"kind": "PersistentVolumeClaim", "namespace": "db", "name": "data-postgres-0", "uid": "c1"},
                "csi": {
                    "driver": "ebs.csi.aws.com", "volumeHandle": "vol-0123", "fsType": "ext4",
                    "volumeAttributes": {"mounter": "rbd", "mapOptions": "krbd:rxbounce", "other": "x"}
                },
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": "gp3",
                "volumeMode": "Filesystem"
            },
            "status": {"phase": "Bound"}
        });
        let id = "persistentvolume=\"pvc-7f3e\"";
        let expected = [
            format!(
                "kube_persistentvolume_claim_ref{{{id},name=\"data-postgres-0\",claim_namespace=\"db\"}} 1\n"
            ),
            format!("kube_persistentvolume_status_phase{{{id},phase=\"Pending\"}} 0\n"),
            format!("kube_persistentvolume_status_phase{{{id},phase=\"Available\"}} 0\n"),
            format!("kube_persistentvolume_status_phase{{{id},phase=\"Bound\"}} 1\n"),
            format!("kube_persistentvolume_status_phase{{{id},phase=\"Released\"}} 0\n"),
            format!("kube_persistentvolume_status_phase{{{id},phase=\"Failed\"}} 0\n"),
            info(
                "pvc-7f3e",
                "gp3",
                &[
                    ("csi_driver", "ebs.csi.aws.com"),
                    ("csi_volume_handle", "vol-0123"),
                ],
                "Delete",
            ),
            format!("kube_persistentvolume_capacity_bytes{{{id}}} 2.147483648e+10\n"),
            format!("kube_persistentvolume_created{{{id}}} 1.706774405e+09\n"),
            format!(
                "kube_persistentvolume_csi_attributes{{{id},csi_mounter=\"rbd\",csi_map_options=\"krbd:rxbounce\"}} 1\n"
            ),
            format!("kube_persistentvolume_volume_mode{{{id},volumemode=\"Filesystem\"}} 1\n"),
            format!("kube_persistentvolume_access_mode{{{id},access_mode=\"ReadWriteOnce\"}} 1\n"),
        ];
        assert_eq!(lines::<PersistentVolume>(object.clone()), expected.concat());
        let allowed = lines_allowlisted::<PersistentVolume>(object);
        assert_eq!(
            family(&allowed, "kube_persistentvolume_labels"),
            format!(
                "kube_persistentvolume_labels{{{id},label_topology_kubernetes_io_zone=\"eu-west-1a\"}} 1\n"
            )
        );
        assert_eq!(
            family(&allowed, "kube_persistentvolume_annotations"),
            format!(
                "kube_persistentvolume_annotations{{{id},annotation_pv_kubernetes_io_provisioned_by=\"ebs.csi.aws.com\"}} 1\n"
            )
        );
    }

    #[test]
    fn volumes_of_other_sources_and_phases() {
        let host = lines::<PersistentVolume>(serde_json::json!({
            "metadata": {"name": "host-1"},
            "spec": {
                "hostPath": {"path": "/mnt/data", "type": "DirectoryOrCreate"},
                "capacity": {"storage": "1500M"},
                "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
                "persistentVolumeReclaimPolicy": "Retain",
                "volumeMode": "Block"
            },
            "status": {"phase": "Available"}
        }));
        let id = "persistentvolume=\"host-1\"";
        assert_eq!(
            host,
            [
                format!("kube_persistentvolume_status_phase{{{id},phase=\"Pending\"}} 0\n"),
                format!("kube_persistentvolume_status_phase{{{id},phase=\"Available\"}} 1\n"),
                format!("kube_persistentvolume_status_phase{{{id},phase=\"Bound\"}} 0\n"),
                format!("kube_persistentvolume_status_phase{{{id},phase=\"Released\"}} 0\n"),
                format!("kube_persistentvolume_status_phase{{{id},phase=\"Failed\"}} 0\n"),
                info(
                    "host-1",
                    "",
                    &[
                        ("host_path", "/mnt/data"),
                        ("host_path_type", "DirectoryOrCreate")
                    ],
                    "Retain",
                ),
                format!("kube_persistentvolume_capacity_bytes{{{id}}} 1.5e+09\n"),
                format!("kube_persistentvolume_volume_mode{{{id},volumemode=\"Block\"}} 1\n"),
                format!(
                    "kube_persistentvolume_access_mode{{{id},access_mode=\"ReadWriteOnce\"}} 1\n"
                ),
                format!(
                    "kube_persistentvolume_access_mode{{{id},access_mode=\"ReadOnlyMany\"}} 1\n"
                ),
            ]
            .concat()
        );

        let nfs = lines::<PersistentVolume>(serde_json::json!({
            "metadata": {"name": "nfs-1", "deletionTimestamp": "2024-02-02T00:00:00Z"},
            "spec": {
                "nfs": {"server": "nas.local", "path": "/exports/a"},
                "storageClassName": "nfs",
                "persistentVolumeReclaimPolicy": "Recycle",
                "claimRef": {"name": "old-claim"}
            },
            "status": {"phase": "Released"}
        }));
        assert_contains(
            &nfs,
            [
                info(
                    "nfs-1",
                    "nfs",
                    &[("nfs_server", "nas.local"), ("nfs_path", "/exports/a")],
                    "Recycle",
                ),
                "kube_persistentvolume_claim_ref{persistentvolume=\"nfs-1\",name=\"old-claim\",claim_namespace=\"\"} 1\n".into(),
                "kube_persistentvolume_status_phase{persistentvolume=\"nfs-1\",phase=\"Released\"} 1\n".into(),
                "kube_persistentvolume_deletion_timestamp{persistentvolume=\"nfs-1\"} 1.706832e+09\n".into(),
                "kube_persistentvolume_capacity_bytes{persistentvolume=\"nfs-1\"} 0\n".into(),
            ],
        );

        let local = lines::<PersistentVolume>(serde_json::json!({
            "metadata": {"name": "local-1"},
            "spec": {
                "local": {"path": "/mnt/disks/ssd0", "fsType": "xfs"},
                "storageClassName": "local-storage",
                "capacity": {"storage": "368Gi"},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1"]}]}
                ]}}
            },
            "status": {"phase": "Failed"}
        }));
        assert_contains(
            &local,
            [
                info(
                    "local-1",
                    "local-storage",
                    &[("local_path", "/mnt/disks/ssd0"), ("local_fs", "xfs")],
                    "",
                ),
                "kube_persistentvolume_status_phase{persistentvolume=\"local-1\",phase=\"Failed\"} 1\n".into(),
                "kube_persistentvolume_capacity_bytes{persistentvolume=\"local-1\"} 3.95136991232e+11\n".into(),
            ],
        );
        assert!(!local.contains("kube_persistentvolume_csi_attributes"));

        let fc = lines::<PersistentVolume>(serde_json::json!({
            "metadata": {"name": "fc-1"},
            "spec": {
                "fc": {"targetWWNs": ["500a0981891b8dc5", "500a0981991b8dc5"], "lun": 2, "wwids": ["w1"]},
                "iscsi": {"targetPortal": "10.0.0.1:3260", "iqn": "iqn.x", "lun": 0}
            }
        }));
        assert!(
            fc.contains(&info(
                "fc-1",
                "",
                &[
                    ("fc_wwids", "w1"),
                    ("fc_lun", "2"),
                    ("fc_target_wwns", "500a0981891b8dc5,500a0981991b8dc5")
                ],
                ""
            )),
            "FC comes before iSCSI: {fc}"
        );
        let iscsi = lines::<PersistentVolume>(serde_json::json!({
            "metadata": {"name": "iscsi-1"},
            "spec": {"iscsi": {
                "targetPortal": "10.0.0.1:3260", "iqn": "iqn.2001-04.com.example:storage", "lun": 3,
                "initiatorName": "iqn.1994-05.com.redhat:node1"
            }}
        }));
        assert!(
            iscsi.contains(&info(
                "iscsi-1",
                "",
                &[
                    ("iscsi_target_portal", "10.0.0.1:3260"),
                    ("iscsi_iqn", "iqn.2001-04.com.example:storage"),
                    ("iscsi_lun", "3"),
                    ("iscsi_initiator_name", "iqn.1994-05.com.redhat:node1"),
                ],
                ""
            )),
            "{iscsi}"
        );
        let clouds = [
            (
                "gcePersistentDisk",
                serde_json::json!({"pdName": "disk-1"}),
                "gce_persistent_disk_name",
                "disk-1",
            ),
            (
                "awsElasticBlockStore",
                serde_json::json!({"volumeID": "vol-9"}),
                "ebs_volume_id",
                "vol-9",
            ),
            (
                "azureDisk",
                serde_json::json!({"diskName": "az-1", "diskURI": "uri"}),
                "azure_disk_name",
                "az-1",
            ),
        ];
        for (field, source, label, value) in clouds {
            let text = lines::<PersistentVolume>(serde_json::json!({
                "metadata": {"name": "cloud"},
                "spec": {field: source}
            }));
            assert!(
                text.contains(&info("cloud", "", &[(label, value)], "")),
                "{text}"
            );
        }
    }

    #[test]
    fn a_bare_volume_and_unknown_values() {
        let id = "persistentvolume=\"bare\"";
        assert_eq!(
            lines::<PersistentVolume>(serde_json::json!({"metadata": {"name": "bare"}})),
            [
                info("bare", "", &[], ""),
                format!("kube_persistentvolume_capacity_bytes{{{id}}} 0\n"),
                format!("kube_persistentvolume_volume_mode{{{id},volumemode=\"Filesystem\"}} 1\n"),
            ]
            .concat()
        );
        let odd = lines::<PersistentVolume>(serde_json::json!({
            "metadata": {"name": "odd"},
            "spec": {
                "rbd": {"monitors": ["m"], "image": "i"},
                "persistentVolumeReclaimPolicy": "Archive",
                "volumeMode": "Quantum",
                "capacity": {"storage": "lots"}
            },
            "status": {"phase": "Migrating"}
        }));
        let id = "persistentvolume=\"odd\"";
        assert_contains(
            &odd,
            [
                info("odd", "", &[], "Archive"),
                format!("kube_persistentvolume_status_phase{{{id},phase=\"Bound\"}} 0\n"),
                format!("kube_persistentvolume_capacity_bytes{{{id}}} 0\n"),
                format!("kube_persistentvolume_volume_mode{{{id},volumemode=\"Quantum\"}} 1\n"),
            ],
        );
        assert!(!odd.contains("phase=\"Migrating\""));
    }
}
