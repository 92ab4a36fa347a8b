export const ADAPTER_PENDING = true;
