//! Services: `kube_service_*`, identity labels `namespace`, `service`, `uid`.

use k8s_openapi::api::core::v1::Service;

use super::Resource;
use super::common::{annotations, created, deletion_timestamp, labels, one_per_entry};
use crate::family::{Family, experimental, stable};

impl Resource for Service {
    const NAME: &'static str = "services";
    const NAME_LABEL: &'static str = "service";
    const UID_LABEL: bool = true;

    fn families() -> &'static [Family<Service>] {
        FAMILIES
    }
}

const FAMILIES: &[Family<Service>] = &[
    stable(
        "kube_service_info",
        "Information about service.",
        |svc, series| {
            let spec = svc.spec.as_ref();
            let field = |get: fn(&k8s_openapi::api::core::v1::ServiceSpec) -> Option<&String>| {
                spec.and_then(get).map(String::as_str).unwrap_or_default()
            };
            series.add(
                &[
                    ("cluster_ip", field(|s| s.cluster_ip.as_ref())),
                    ("external_name", field(|s| s.external_name.as_ref())),
                    ("load_balancer_ip", field(|s| s.load_balancer_ip.as_ref())),
                    (
                        "external_traffic_policy",
                        field(|s| s.external_traffic_policy.as_ref()),
                    ),
                ],
                1.0,
            );
        },
    ),
    stable("kube_service_created", "Unix creation timestamp", created),
    stable(
        "kube_service_spec_type",
        "Type about service.",
        |svc, series| {
            // One series with the type as it is, even unset or unknown.
            let kind = svc.spec.as_ref().and_then(|s| s.type_.as_deref());
            series.add(&[("type", kind.unwrap_or_default())], 1.0);
        },
    ),
    experimental(
        "kube_service_annotations",
        "Kubernetes annotations converted to Prometheus labels.",
        annotations,
    ),
    stable(
        "kube_service_labels",
        "Kubernetes labels converted to Prometheus labels.",
        labels,
    ),
    stable(
        "kube_service_spec_external_ip",
        "Service external ips. One series for each ip",
        |svc, series| {
            let ips = svc.spec.as_ref().and_then(|s| s.external_ips.as_deref());
            one_per_entry(series, "external_ip", ips);
        },
    ),
    stable(
        "kube_service_status_load_balancer_ingress",
        "Service load balancer ingress status",
        |svc, series| {
            let ingress = svc
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref());
            for entry in ingress.into_iter().flatten() {
                series.add(
                    &[
                        ("ip", entry.ip.as_deref().unwrap_or_default()),
                        ("hostname", entry.hostname.as_deref().unwrap_or_default()),
                    ],
                    1.0,
                );
            }
        },
    ),
    experimental(
        "kube_service_deletion_timestamp",
        "Unix deletion timestamp",
        deletion_timestamp,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::testing::{assert_contains, family, lines, lines_allowlisted, names};

    #[test]
    fn families_are_in_ksm_order() {
        assert_eq!(
            names::<Service>(),
            [
                "kube_service_info",
                "kube_service_created",
                "kube_service_spec_type",
                "kube_service_annotations",
                "kube_service_labels",
                "kube_service_spec_external_ip",
                "kube_service_status_load_balancer_ingress",
                "kube_service_deletion_timestamp",
            ]
        );
    }

    fn service(
        name: &str,
        spec: serde_json::Value,
        status: serde_json::Value,
    ) -> serde_json::Value {
        serde_json::json!({
            "metadata": {
                "name": name, "namespace": "shop", "uid": format!("uid-{name}"),
                "creationTimestamp": "2024-05-01T12:00:00Z",
                "labels": {"app.kubernetes.io/name": name}
            },
            "spec": spec,
            "status": status
        })
    }

    #[test]
    fn a_cluster_ip_service() {
        let text = lines::<Service>(service(
            "api",
            serde_json::json!({
                "type": "ClusterIP", "clusterIP": "10.96.12.7", "clusterIPs": ["10.96.12.7"],
                "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
                "selector": {"app": "api"}, "internalTrafficPolicy": "Cluster"
            }),
            serde_json::json!({"loadBalancer": {}}),
        ));
        let id = "namespace=\"shop\",service=\"api\",uid=\"uid-api\"";
        assert_eq!(
            text,
            format!(
                "kube_service_info{{{id},cluster_ip=\"10.96.12.7\",external_name=\"\",load_balancer_ip=\"\",external_traffic_policy=\"\"}} 1\n\
                 kube_service_created{{{id}}} 1.7145648e+09\n\
                 kube_service_spec_type{{{id},type=\"ClusterIP\"}} 1\n"
            )
        );
        let allowed = lines_allowlisted::<Service>(service(
            "api",
            serde_json::json!({}),
            serde_json::json!({}),
        ));
        assert_eq!(
            family(&allowed, "kube_service_labels"),
            format!("kube_service_labels{{{id},label_app_kubernetes_io_name=\"api\"}} 1\n")
        );
    }

    #[test]
    fn a_node_port_service_with_external_ips() {
        let text = lines::<Service>(service(
            "web",
            serde_json::json!({
                "type": "NodePort", "clusterIP": "10.96.0.20", "externalTrafficPolicy": "Local",
                "externalIPs": ["192.0.2.10", "192.0.2.11"],
                "ports": [{"port": 80, "nodePort": 30080}]
            }),
            serde_json::json!({}),
        ));
        let id = "namespace=\"shop\",service=\"web\",uid=\"uid-web\"";
        assert_contains(
            &text,
            [
                format!(
                    "kube_service_info{{{id},cluster_ip=\"10.96.0.20\",external_name=\"\",load_balancer_ip=\"\",external_traffic_policy=\"Local\"}} 1\n"
                ),
                format!("kube_service_spec_type{{{id},type=\"NodePort\"}} 1\n"),
            ],
        );
        assert_eq!(
            family(&text, "kube_service_spec_external_ip"),
            format!(
                "kube_service_spec_external_ip{{{id},external_ip=\"192.0.2.10\"}} 1\n\
                 kube_service_spec_external_ip{{{id},external_ip=\"192.0.2.11\"}} 1\n"
            )
        );
    }

    #[test]
    fn a_load_balancer_with_ip_and_hostname_ingress() {
        let text = lines::<Service>(service(
            "edge",
            serde_json::json!({
                "type": "LoadBalancer", "clusterIP": "10.96.0.30", "loadBalancerIP": "203.0.113.5",
                "externalTrafficPolicy": "Cluster"
            }),
            serde_json::json!({"loadBalancer": {"ingress": [
                {"ip": "203.0.113.5", "ipMode": "VIP"},
                {"hostname": "a1b2.elb.eu-west-1.amazonaws.com"}
            ]}}),
        ));
        let id = "namespace=\"shop\",service=\"edge\",uid=\"uid-edge\"";
        assert!(text.contains(&format!(
            "kube_service_info{{{id},cluster_ip=\"10.96.0.30\",external_name=\"\",load_balancer_ip=\"203.0.113.5\",external_traffic_policy=\"Cluster\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "kube_service_spec_type{{{id},type=\"LoadBalancer\"}} 1\n"
        )));
        assert_eq!(
            family(&text, "kube_service_status_load_balancer_ingress"),
            format!(
                "kube_service_status_load_balancer_ingress{{{id},ip=\"203.0.113.5\",hostname=\"\"}} 1\n\
                 kube_service_status_load_balancer_ingress{{{id},ip=\"\",hostname=\"a1b2.elb.eu-west-1.amazonaws.com\"}} 1\n"
            )
        );
    }

    #[test]
    fn an_external_name_service_being_deleted() {
        let object = serde_json::json!({
            "metadata": {
                "name": "db", "namespace": "shop", "uid": "u-db",
                "deletionTimestamp": "2024-05-02T00:00:00Z"
            },
            "spec": {"type": "ExternalName", "externalName": "db.example.com"}
        });
        let id = "namespace=\"shop\",service=\"db\",uid=\"u-db\"";
        assert_eq!(
            lines::<Service>(object),
            format!(
                "kube_service_info{{{id},cluster_ip=\"\",external_name=\"db.example.com\",load_balancer_ip=\"\",external_traffic_policy=\"\"}} 1\n\
                 kube_service_spec_type{{{id},type=\"ExternalName\"}} 1\n\
                 kube_service_deletion_timestamp{{{id}}} 1.714608e+09\n"
            )
        );
    }

    #[test]
    fn a_bare_service_and_an_unknown_type() {
        assert_eq!(
            lines::<Service>(serde_json::json!({})),
            "kube_service_info{namespace=\"\",service=\"\",uid=\"\",cluster_ip=\"\",external_name=\"\",load_balancer_ip=\"\",external_traffic_policy=\"\"} 1\n\
             kube_service_spec_type{namespace=\"\",service=\"\",uid=\"\",type=\"\"} 1\n"
        );
        let odd = lines::<Service>(serde_json::json!({
            "metadata": {"name": "x", "namespace": "n", "uid": "u"},
            "spec": {"type": "Headless\"Future"}
        }));
        assert!(
            odd.contains("kube_service_spec_type{namespace=\"n\",service=\"x\",uid=\"u\",type=\"Headless\\\"Future\"} 1\n"),
            "{odd}"
        );
    }
}
