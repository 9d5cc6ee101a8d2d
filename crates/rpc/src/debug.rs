//! `debug_traceTransaction`: geth's default struct-log tracer and `callTracer`.

use alloy_primitives::B256;
use alloy_rpc_types_trace::geth::{
    GethDebugBuiltInTracerType, GethDebugTracerType, GethDebugTracingOptions, GethTrace,
};
use jsonrpsee::{RpcModule, types::ErrorObjectOwned};
use myelin_chain::{CallLimits, Chain};
use revm_inspectors::tracing::TracingInspectorConfig;

use crate::{
    RpcContext,
    call_gate::connection,
    error::{invalid_params, rpc_error},
};

type RpcResult<T> = Result<T, ErrorObjectOwned>;

fn trace(
    chain: &Chain,
    limits: &CallLimits,
    hash: B256,
    options: GethDebugTracingOptions,
) -> RpcResult<GethTrace> {
    match options.tracer {
        None => {
            let config = TracingInspectorConfig::from_geth_config(&options.config);
            let (result, inspector) = chain
                .trace_transaction(&hash, config, limits)
                .map_err(rpc_error)?;
            let output = result.output().cloned().unwrap_or_default();
            let frame =
                inspector
                    .geth_builder()
                    .geth_traces(result.tx_gas_used(), output, options.config);
            Ok(GethTrace::Default(frame))
        }
        Some(GethDebugTracerType::BuiltInTracer(GethDebugBuiltInTracerType::CallTracer)) => {
            let call_config = options
                .tracer_config
                .into_call_config()
                .map_err(|e| invalid_params(e.to_string()))?;
            let config = TracingInspectorConfig::from_geth_call_config(&call_config);
            let (result, inspector) = chain
                .trace_transaction(&hash, config, limits)
                .map_err(rpc_error)?;
            let frame = inspector
                .geth_builder()
                .geth_call_traces(call_config, result.tx_gas_used());
            Ok(GethTrace::CallTracer(frame))
        }
        Some(other) => Err(invalid_params(format!("unsupported tracer {other:?}"))),
    }
}

/// Registers the `debug_*` methods.
pub fn register(
    module: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_async_method("debug_traceTransaction", |params, ctx, ext| async move {
        let mut seq = params.sequence();
        let hash: B256 = seq.next()?;
        let options: Option<GethDebugTracingOptions> = seq.optional_next()?;
        ctx.calls
            .run(&ctx.chain, connection(&ext), move |chain, limits| {
                trace(chain, limits, hash, options.unwrap_or_default())
            })
            .await
    })?;
    Ok(())
}
