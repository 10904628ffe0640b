//! [`Cloud`] over the real AWS SDK clients (CloudFormation, and S3 for big templates).
//!
//! Configuration comes the standard aws-config way (`AWS_PROFILE`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL`, shared config files), overridden by the command's flags. Throttling,
//! 5xx answers and transient network errors are retried by the SDK (standard mode).

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudformation as cfn;
use aws_sdk_cloudformation::config::ProvideCredentials;
use aws_sdk_cloudformation::config::http::HttpResponse;
use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use cfn::types::{Capability, ChangeSetType as SdkChangeSetType, OnStackFailure, TemplateStage};

use super::api::{
    ApiError, ChangeSet, ChangeSetIds, ChangeSetRequest, ChangeSetType, Cloud, DriftDetection,
    Event, EventPage, PropertyDifference, ResourceChange, ResourceDrift, StackInfo, TemplateSource,
};

/// Where to connect: each `None` falls back to the environment and the shared config files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connection {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// The SDK clients.
pub(crate) struct Aws {
    cfn: cfn::Client,
    s3: aws_sdk_s3::Client,
}

/// Why the clients cannot be built: what is missing, and how to provide it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigError {
    pub message: String,
    pub help: String,
}

/// Load the configuration, check that credentials resolve (environment, profile, SSO cache,
/// credential process...) and build the clients; `Err` names what is missing.
pub(crate) async fn connect(connection: &Connection) -> Result<Aws, ConfigError> {
    let retry = RetryConfig::standard()
        .with_max_attempts(8)
        .with_initial_backoff(Duration::from_millis(300))
        .with_max_backoff(Duration::from_secs(5));
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(retry);
    if let Some(region) = &connection.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &connection.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &connection.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(ConfigError {
            message: "no AWS region is set".into(),
            help: "set AWS_REGION (or a profile's region), or pass --region".into(),
        });
    }
    // Resolved once here, so a missing login is one clear error before any call, not a
    // dispatch failure of the first call.
    let resolved = match config.credentials_provider() {
        Some(provider) => provider.provide_credentials().await.map(|_| ()).map_err(|e| causes(&e)),
        None => Err("no credentials provider is configured".to_string()),
    };
    if let Err(err) = resolved {
        let profile = connection.profile.clone().or_else(|| std::env::var("AWS_PROFILE").ok());
        let login = match &profile {
            Some(p) => format!("for an SSO profile, `aws sso login --profile {p}`; "),
            None => String::new(),
        };
        return Err(ConfigError {
            message: format!("no AWS credentials: {err}"),
            help: format!(
                "{login}or set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ),
        });
    }
    let mut s3 = aws_sdk_s3::config::Builder::from(&config);
    if config.endpoint_url().is_some() {
        // A local endpoint (127.0.0.1) has no bucket subdomains.
        s3 = s3.force_path_style(true);
    }
    Ok(Aws { cfn: cfn::Client::new(&config), s3: aws_sdk_s3::Client::from_conf(s3.build()) })
}

/// An error and its sources, each said once: `a: b: c`.
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut said: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if said.last() != Some(&text) {
            said.push(text);
        }
        next = e.source();
    }
    said.join(": ")
}

fn api_error<E>(operation: &'static str, err: &SdkError<E, HttpResponse>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = err.code().map(str::to_string);
    let message = match (err.message(), err) {
        (Some(message), _) => message.to_string(),
        (None, SdkError::ServiceError(service)) => {
            // Not an AWS error document (a proxy's or a crashed server's page, say).
            let raw = service.raw();
            let body = raw.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
            let body: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
            let body: String = body.chars().take(160).collect();
            format!("HTTP {} that is not an AWS answer: {body}", raw.status().as_u16())
        }
        (None, SdkError::DispatchFailure(_)) => {
            format!("cannot reach the endpoint: {}", DisplayErrorContext(err))
        }
        (None, SdkError::TimeoutError(_)) => "the call timed out".to_string(),
        (None, _) => DisplayErrorContext(err).to_string(),
    };
    ApiError { operation, code, message }
}

fn is_missing_stack(err: &ApiError) -> bool {
    err.code.as_deref() == Some("ValidationError") && err.message.contains("does not exist")
}

impl Cloud for Aws {
    async fn describe_stack(&self, name: &str) -> Result<Option<StackInfo>, ApiError> {
        let out = match self.cfn.describe_stacks().stack_name(name).send().await {
            Ok(out) => out,
            Err(err) => {
                let err = api_error("DescribeStacks", &err);
                return if is_missing_stack(&err) { Ok(None) } else { Err(err) };
            }
        };
        let Some(stack) = out.stacks().first() else { return Ok(None) };
        let status = stack.stack_status().map(|s| s.as_str().to_string()).unwrap_or_default();
        if status == "DELETE_COMPLETE" {
            return Ok(None);
        }
        Ok(Some(StackInfo {
            id: stack.stack_id().unwrap_or(name).to_string(),
            status,
            status_reason: stack.stack_status_reason().map(str::to_string),
            parameter_keys: stack
                .parameters()
                .iter()
                .filter_map(|p| p.parameter_key().map(str::to_string))
                .collect(),
        }))
    }

    async fn get_template(&self, stack: &str) -> Result<String, ApiError> {
        let out = self
            .cfn
            .get_template()
            .stack_name(stack)
            .template_stage(TemplateStage::Original)
            .send()
            .await
            .map_err(|e| api_error("GetTemplate", &e))?;
        Ok(out.template_body().unwrap_or_default().to_string())
    }

    async fn create_change_set(&self, req: &ChangeSetRequest) -> Result<ChangeSetIds, ApiError> {
        let parameters = req
            .parameters
            .iter()
            .map(|p| {
                let b = cfn::types::Parameter::builder().parameter_key(&p.key);
                match &p.value {
                    Some(v) => b.parameter_value(v).build(),
                    None => b.use_previous_value(true).build(),
                }
            })
            .collect();
        let mut call = self
            .cfn
            .create_change_set()
            .stack_name(&req.stack_name)
            .change_set_name(&req.change_set_name)
            // A retried call (the SDK retries 5xx) whose first attempt went through gets the
            // same change set back instead of "already exists".
            .client_token(&req.change_set_name)
            .description("mermaid2aws deploy")
            .set_parameters(Some(parameters))
            .capabilities(Capability::CapabilityIam)
            .capabilities(Capability::CapabilityNamedIam);
        call = match &req.template {
            TemplateSource::Body(body) => call.template_body(body),
            TemplateSource::Url(url) => call.template_url(url),
        };
        call = match req.change_set_type {
            ChangeSetType::Create => {
                let call = call.change_set_type(SdkChangeSetType::Create);
                if req.keep_on_failure {
                    call.on_stack_failure(OnStackFailure::DoNothing)
                } else {
                    call
                }
            }
            ChangeSetType::Update => call.change_set_type(SdkChangeSetType::Update),
        };
        let out = call.send().await.map_err(|e| api_error("CreateChangeSet", &e))?;
        Ok(ChangeSetIds {
            change_set_id: out.id().unwrap_or(&req.change_set_name).to_string(),
            stack_id: out.stack_id().unwrap_or(&req.stack_name).to_string(),
        })
    }

    async fn describe_change_set(&self, id: &str) -> Result<ChangeSet, ApiError> {
        let mut result = ChangeSet::default();
        let mut next: Option<String> = None;
        loop {
            let out = self
                .cfn
                .describe_change_set()
                .change_set_name(id)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| api_error("DescribeChangeSet", &e))?;
            result.status = out.status().map(|s| s.as_str().to_string()).unwrap_or_default();
            result.status_reason = out.status_reason().map(str::to_string);
            for change in out.changes() {
                let Some(rc) = change.resource_change() else { continue };
                result.changes.push(ResourceChange {
                    action: rc.action().map(|a| a.as_str().to_string()).unwrap_or_default(),
                    logical_id: rc.logical_resource_id().unwrap_or_default().to_string(),
                    resource_type: rc.resource_type().unwrap_or_default().to_string(),
                    replacement: rc.replacement().map(|r| r.as_str().to_string()),
                });
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_string()),
                _ => return Ok(result),
            }
        }
    }

    async fn execute_change_set(
        &self,
        id: &str,
        client_token: &str,
        disable_rollback: bool,
    ) -> Result<(), ApiError> {
        let mut call =
            self.cfn.execute_change_set().change_set_name(id).client_request_token(client_token);
        if disable_rollback {
            call = call.disable_rollback(true);
        }
        call.send().await.map_err(|e| api_error("ExecuteChangeSet", &e))?;
        Ok(())
    }

    async fn delete_change_set(&self, id: &str) -> Result<(), ApiError> {
        self.cfn
            .delete_change_set()
            .change_set_name(id)
            .send()
            .await
            .map_err(|e| api_error("DeleteChangeSet", &e))?;
        Ok(())
    }

    async fn stack_events(
        &self,
        stack_id: &str,
        next_token: Option<&str>,
    ) -> Result<EventPage, ApiError> {
        let out = self
            .cfn
            .describe_stack_events()
            .stack_name(stack_id)
            .set_next_token(next_token.map(str::to_string))
            .send()
            .await
            .map_err(|e| api_error("DescribeStackEvents", &e))?;
        let events = out
            .stack_events()
            .iter()
            .map(|e| Event {
                id: e.event_id().unwrap_or_default().to_string(),
                logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
                physical_id: e.physical_resource_id().unwrap_or_default().to_string(),
                resource_type: e.resource_type().unwrap_or_default().to_string(),
                status: e.resource_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                reason: e.resource_status_reason().map(str::to_string),
                timestamp: e.timestamp().map_or(0, |t| t.secs()),
            })
            .collect();
        let next_token = out.next_token().filter(|t| !t.is_empty()).map(str::to_string);
        Ok(EventPage { events, next_token })
    }

    async fn delete_stack(&self, stack_id: &str) -> Result<(), ApiError> {
        self.cfn
            .delete_stack()
            .stack_name(stack_id)
            .send()
            .await
            .map_err(|e| api_error("DeleteStack", &e))?;
        Ok(())
    }

    async fn detect_stack_drift(&self, stack: &str) -> Result<String, ApiError> {
        let out = self
            .cfn
            .detect_stack_drift()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| api_error("DetectStackDrift", &e))?;
        Ok(out.stack_drift_detection_id().unwrap_or_default().to_string())
    }

    async fn drift_detection_status(&self, detection_id: &str) -> Result<DriftDetection, ApiError> {
        let out = self
            .cfn
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(detection_id)
            .send()
            .await
            .map_err(|e| api_error("DescribeStackDriftDetectionStatus", &e))?;
        Ok(DriftDetection {
            status: out.detection_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
            stack_drift_status: out.stack_drift_status().map(|s| s.as_str().to_string()),
            reason: out.detection_status_reason().map(str::to_string),
        })
    }

    async fn resource_drifts(&self, stack: &str) -> Result<Vec<ResourceDrift>, ApiError> {
        let mut drifts = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let out = self
                .cfn
                .describe_stack_resource_drifts()
                .stack_name(stack)
                .stack_resource_drift_status_filters(cfn::types::StackResourceDriftStatus::Modified)
                .stack_resource_drift_status_filters(cfn::types::StackResourceDriftStatus::Deleted)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| api_error("DescribeStackResourceDrifts", &e))?;
            for d in out.stack_resource_drifts() {
                drifts.push(ResourceDrift {
                    logical_id: d.logical_resource_id().unwrap_or_default().to_string(),
                    resource_type: d.resource_type().unwrap_or_default().to_string(),
                    status: d
                        .stack_resource_drift_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    differences: d
                        .property_differences()
                        .iter()
                        .map(|p| PropertyDifference {
                            path: p.property_path().unwrap_or_default().to_string(),
                            expected: p.expected_value().unwrap_or_default().to_string(),
                            actual: p.actual_value().unwrap_or_default().to_string(),
                            kind: p
                                .difference_type()
                                .map(|k| k.as_str().to_string())
                                .unwrap_or_default(),
                        })
                        .collect(),
                });
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_string()),
                _ => return Ok(drifts),
            }
        }
    }

    async fn put_template(&self, bucket: &str, key: &str, body: &str) -> Result<(), ApiError> {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(aws_sdk_s3::primitives::ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await
            .map_err(|e| api_error("PutObject", &e))?;
        Ok(())
    }
}
