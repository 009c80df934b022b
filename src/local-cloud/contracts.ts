/**
 * The seams inside the local cloud, split as moto splits a service:
 *   model/     state, rules and status transitions (no HTTP, no SSH)
 *   api/       one handler per Action: read Params, call the model, return the wire-shaped body
 *   wire/      signatures, parameter decoding, the HTTP server, admin API, faults, throttling
 *   ssh/       the instances' SSH servers and the ssh_config that maps public addresses to them
 * Each folder depends only on these interfaces and on errors.ts.
 */

/** Decoded request parameters (query string plus form body), with the SDK's list encodings. */
export interface Params {
  readonly raw: Readonly<Record<string, string>>;
  /** A scalar; throws MissingParameter when `required` and absent. */
  str(name: string, required?: boolean): string | undefined;
  int(name: string, fallback?: number): number | undefined;
  bool(name: string, fallback?: boolean): boolean | undefined;
  /** `Name.1`, `Name.2`, ... in index order. */
  list(name: string): string[];
  /** A JSON-array string such as InstanceIds=["i-1","i-2"]. */
  jsonList(name: string): string[];
  /** A comma-separated string such as AllocationId=eip-1,eip-2. */
  commaList(name: string): string[];
  /** `Tag.N.Key` / `Tag.N.Value` (or another prefix). */
  tags(prefix?: string): Array<{ key: string; value: string }>;
}

export type Product = 'Ecs' | 'Vpc';

/** One API action: returns the JSON body (without RequestId, which the server adds). Throws CloudError. */
export type ActionHandler = (cloud: CloudModel, params: Params) => Record<string, unknown>;

/** Where an SSH connection to a public address lands. */
export interface PublicRoute {
  instanceId: string;
  /** The address the connection arrived on (NAT public IP or EIP). */
  publicIp: string;
  /** How it reaches the instance: the static public IP, an EIP on the primary ENI, or an EIP (NAT mode) on a secondary ENI. */
  via: 'nat-public-ip' | 'eip-primary' | 'eip-secondary-eni';
}

/** Result of a command run in an instance's guest OS. */
export interface GuestCommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Behaviours that rehearsals and tests switch on through the admin API. */
/**
 * What a repeated ClientToken gets after its first call failed with a 4xx answer. The ECS idempotence page: "if a 4xx
 * is returned, the retry fails" (`replay`, the strictest and the default); terway sees `IdempotentFailed` and draws a
 * new token (`idempotent-failed`); `run-again`: the call runs anew (this cloud's behaviour before it followed the docs).
 */
export const TOKEN_AFTER_FAILURE = ['replay', 'idempotent-failed', 'run-again'] as const;
export type TokenAfterFailure = (typeof TOKEN_AFTER_FAILURE)[number];

export interface ClientTokenBehaviours {
  clientTokenAfterFailure?: TokenAfterFailure;
  /**
   * For this long after a token's first call, a repeat is told the token is still being processed
   * (`LastTokenProcessing` on the VPC API, `IdempotentProcessing` on ECS, 403). 0 (default): a call is processed
   * before it is answered, so a repeat never finds it in progress.
   */
  clientTokenProcessingMs?: number;
}

export interface ModelBehaviours extends ClientTokenBehaviours {
  /** A new ENI stays missing from Describe* for this long (eventual consistency). */
  describeLagMs?: number;
  /** The next n attaches fail after Attaching and fall back to Available. */
  attachFallbacks?: number;
  /** The next n detaches stick in Detaching until DetachNetworkInterface is issued again. */
  stuckDetaches?: number;
  /** Besides the next n: this fraction (0..1) of all attaches falls back to Available. */
  attachFallbackRate?: number;
  /** Besides the next n: this fraction (0..1) of all detaches sticks in Detaching until re-issued. */
  stuckDetachRate?: number;
  /**
   * How many re-issued detaches a stuck detach ignores before it moves again (0: the first re-issue clears it). The
   * DetachNetworkInterface doc: re-initiate; if it persists, restart the instance.
   */
  stuckDetachReissues?: number;
  /** The next n deletes stick in Deleting until DeleteNetworkInterface is issued again. */
  stuckDeletes?: number;
  /** The next n CreateNetworkInterface calls answer 200 without a NetworkInterfaceId: no ENI was made. */
  emptyCreates?: number;
  /** The next n EIP associations go Associating → Available instead of InUse. */
  associateFallbacks?: number;
  /** Besides the next n: this fraction (0..1) of all associations falls back to Available. */
  associateFallbackRate?: number;
  /** Seeds the draws of the association latency (associateSpreadMs): the same seed, the same durations. */
  latencySeed?: number;
}

/** The behaviours in force, and how often each has fired since the cloud started (GET /_admin/behaviours). */
export interface BehaviourState extends Required<ModelBehaviours> {
  fired: {
    /** ENIs created while describeLagMs was above 0 (each hidden from Describe* for a while). */
    laggedEnis: number;
    attachFallbacks: number;
    stuckDetaches: number;
    /** Re-issued detaches that a stuck detach ignored (stuckDetachReissues). */
    ignoredDetachReissues: number;
    stuckDeletes: number;
    emptyCreates: number;
    associateFallbacks: number;
  };
}

/** Durations of the asynchronous transitions, in ms. */
export interface Timings {
  attachMs: number;
  detachMs: number;
  deleteMs: number;
  associateMs: number;
  unassociateMs: number;
  convertMs: number;
  /** A Cloud Assistant command: Pending for the first half (delivery), Running for the second, then its result. */
  commandMs: number;
  /**
   * The spread of association durations: each AssociateEipAddress takes associateMs (the median) plus a normal draw of
   * this standard deviation, clipped to [associateMs / 4, associateMs + 4 × spread]; 0 makes it a constant.
   */
  associateSpreadMs?: number;
}

export interface CloudModel {
  readonly regionId: string;
  timings: Timings;
  configure(behaviours: ModelBehaviours): void;
  /** The behaviours in force and what they did so far (optional: stand-in models in tests may lack it). */
  behaviours?(): BehaviourState;
  /** Every public address of the region (NAT public IPs and EIPs), for the ssh_config. */
  publicAddresses(): string[];
  /** The instance a connection to this public address reaches now, or undefined (refused / no route). */
  routePublicAddress(ip: string): PublicRoute | undefined;
  /** The address the instance's outbound traffic leaves from now, or undefined when it has no route out. */
  egressAddress(instanceId: string): string | undefined;
  /**
   * Runs a command in the guest (the emulated shell: egress check, guest network set-up, hostname...) as the SSH
   * login user (default root); another user needs sudo for what only root may do.
   */
  runGuestCommand(instanceId: string, command: string, user?: string): GuestCommandResult;
  /** Every resource, with the API's own field names, for GET /_admin/state. */
  snapshot(): Record<string, unknown>;
  /**
   * A call carrying a ClientToken failed before its handler ran (an injected fault standing for the action failing):
   * a repeat of the token gets the failure again, as after a failure of the handler itself. Optional: stand-in models.
   */
  clientTokenFailed?(
    action: string,
    params: Record<string, string>,
    error: Error & { code: string; status: number },
  ): void;
}
