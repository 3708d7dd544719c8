export const id = 17;
export const ids = [17];
export const modules = {

/***/ 5017:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  DELIVERY_BUDGET_MS: () => (/* binding */ DELIVERY_BUDGET_MS),
  PROGRESS_EVERY: () => (/* binding */ PROGRESS_EVERY),
  prepareDelivery: () => (/* binding */ prepareDelivery)
});

// EXTERNAL MODULE: ./src/shared/http.ts
var http = __webpack_require__(6489);
// EXTERNAL MODULE: ./src/github/deliver.ts
var deliver = __webpack_require__(7118);
// EXTERNAL MODULE: ./node_modules/@octokit/rest/dist-src/index.js + 21 modules
var dist_src = __webpack_require__(9988);
// EXTERNAL MODULE: ./node_modules/@octokit/plugin-retry/dist-bundle/index.js
var dist_bundle = __webpack_require__(9735);
// EXTERNAL MODULE: ./node_modules/@octokit/plugin-throttling/dist-bundle/index.js
var plugin_throttling_dist_bundle = __webpack_require__(6856);
;// CONCATENATED MODULE: ./src/github/api.ts
/** Pinned: the secrets endpoints are checked under this version, and GHES knows it. */
const GITHUB_API_VERSION = '2022-11-28';

// EXTERNAL MODULE: ./src/shared/errors.ts
var errors = __webpack_require__(8382);
// EXTERNAL MODULE: ./src/github/plan.ts
var plan = __webpack_require__(4496);
;// CONCATENATED MODULE: ./src/github/answers.ts
// How GitHub's answers are read: redirects, rate limits and refusals become errors that say what
// happened and what to do. Free of Octokit, so that unit tests (CommonJS) can load it.



/** Rate-limit answers honoured per request before giving up. */
const RATE_LIMIT_RETRIES = 3;
/** GitHub answered with a redirect: a moved or renamed repository. It is never followed. */
class RedirectError extends Error {
    status;
    location;
    serviceMessage;
    requestId;
    constructor(status, location, serviceMessage, requestId) {
        super(`redirect ${status} to ${location}`);
        this.name = 'RedirectError';
        this.status = status;
        this.location = location;
        this.serviceMessage = serviceMessage;
        this.requestId = requestId;
    }
}
/** The redirect in an answer Octokit took for a success (it does not follow them, and neither do we). */
function redirectIn(response) {
    if (response.status < 300 || response.status >= 400)
        return undefined;
    const { data, headers } = response;
    const message = typeof data === 'object' && data !== null && 'message' in data ? String(data.message) : `HTTP ${response.status}`;
    const requestId = headers['x-github-request-id'];
    return new RedirectError(response.status, String(headers.location ?? ''), message, requestId === undefined ? undefined : String(requestId));
}
/**
 * Whether to wait as a rate-limit answer asks (the throttling plugin's onRateLimit and
 * onSecondaryRateLimit): only while the wait ends before the deadline, a few times per request.
 * A refused wait is remembered by request ("PUT https://…": each target has its own), for the
 * error message: Octokit's error carries a copy of the request, not the options the plugin saw.
 */
function rateLimitDecisions(now, deadline) {
    const refused = new Map();
    return {
        wait(retryAfterSeconds, request, retryCount) {
            const fits = retryCount < RATE_LIMIT_RETRIES && now() + retryAfterSeconds * 1000 <= deadline;
            if (!fits)
                refused.set(request, retryAfterSeconds);
            return fits;
        },
        refusedWait: (request) => refused.get(request),
    };
}
/** How rateLimitDecisions knows a request again. */
function requestKey(method, url) {
    return `${method ?? ''} ${url ?? ''}`;
}
/** A fetch that sends nothing (and so no token) anywhere but the configured API's origin. */
function confinedTo(apiUrl, send) {
    const origin = new URL(apiUrl).origin;
    return (input, init) => {
        const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
        if (new URL(url).origin !== origin)
            return Promise.reject(new Error(`refused to send github-token to ${new URL(url).origin}, which is not github-api-url`));
        return send(input, init);
    };
}
/** Which permission a token lacks when GitHub refuses it on this target. */
function permissionHint(target) {
    const permission = target.scope === 'organization'
        ? target.type === 'dependabot'
            ? 'Organization permission "Dependabot secrets: write"'
            : 'Organization permission "Secrets: write" (organization_secrets)'
        : target.scope === 'environment'
            ? 'Repository permissions "Environments: write" and "Secrets: write"'
            : target.type === 'dependabot'
                ? 'Repository permission "Dependabot secrets: write"'
                : 'Repository permission "Secrets: write"';
    return (`github-token needs ${permission} on ${(0,plan/* describeTarget */.ff)(target)}. The workflow's own GITHUB_TOKEN cannot write secrets: ` +
        'use a GitHub App token (actions/create-github-app-token) or a fine-grained personal access token.');
}
function gitHubError(error, action, permission, refusedWait) {
    if (error instanceof RedirectError) {
        return new errors/* ServiceError */._7({
            service: 'GitHub',
            action,
            status: error.status,
            message: `${error.serviceMessage}, to ${printable(error.location) || 'no location'}`,
            requestId: error.requestId,
            hint: 'The repository was renamed or moved, or github-api-url is not the API: nothing was sent to the new location. Give its current name (or the right github-api-url).',
        });
    }
    if (!isRequestError(error))
        return error instanceof Error ? error : new Error(String(error));
    const oversized = oversizedAnswerIn(error);
    if (oversized !== undefined)
        return (0,http/* oversizedAnswerError */.eD)(oversized, {
            service: 'GitHub',
            action,
            requestId: oversized.headers['x-github-request-id'],
            urlInput: 'github-api-url',
        });
    if (error.response === undefined)
        return new errors/* NetworkError */.Dr('GitHub', action, error.message, true);
    const headers = error.response.headers;
    const data = error.response.data;
    const message = typeof data === 'object' && data !== null && 'message' in data ? String(data.message) : error.message;
    const wait = refusedWait(requestKey(error.request?.method, error.request?.url));
    const rateLimited = wait !== undefined || isRateLimit(error.status, message, headers);
    return new errors/* ServiceError */._7({
        service: 'GitHub',
        action,
        status: error.status,
        message,
        requestId: headers['x-github-request-id'],
        hint: rateLimited ? rateLimitHint(wait) : gitHubHint(error.status, permission),
    });
}
function rateLimitHint(refusedWait) {
    const wait = refusedWait === undefined
        ? 'GitHub is limiting requests'
        : `GitHub asked to wait ${refusedWait} s, longer than the step's time for secrets allows`;
    return `${wait}. Run the job again later; to write to many repositories, use one organization secret with secret-visibility: selected (a single write).`;
}
function gitHubHint(status, permission) {
    if (status === 401)
        return `github-token was refused (expired or revoked?). ${permission}`;
    if (status === 403)
        return permission;
    if (status === 404)
        return `The target does not exist, or github-token cannot see it. ${permission}`;
    return undefined;
}
/** For the message only: whether to retry is the throttling plugin's decision. */
function isRateLimit(status, message, headers) {
    return status === 429 || (status === 403 && (/rate limit/i.test(message) || headers['x-ratelimit-remaining'] === '0'));
}
/** A header from the answer, as one short line: it goes into the error. */
function printable(text) {
    const line = text.replace(/[\u0000-\u001f\u007f]/g, '');
    return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
/**
 * The answer too large to read behind an Octokit error: Octokit reports whatever its fetch threw
 * as a status 500 without a response, with the original as its cause.
 */
function oversizedAnswerIn(error) {
    const cause = error instanceof Error ? error.cause : undefined;
    return cause instanceof http/* AnswerTooLargeError */.Oc ? cause : undefined;
}
function isRequestError(error) {
    return error instanceof Error && typeof error.status === 'number';
}

;// CONCATENATED MODULE: ./src/github/octokit.ts






/** plugin-retry: 5xx and no answer, twice, after 1 s and 4 s. Rate limits are the throttling plugin's. */
const RETRIES = 2;
const NOT_RETRIED = [400, 401, 403, 404, 410, 422, 429, 451];
/** The longest wait plugin-retry makes before a retry ((retries)^2 s), and an attempt after it. */
const RETRY_ROOM_MS = (RETRIES ** 2 + 5) * 1000;
// Octokit with GitHub's own rate-limit (throttling) and retry plugins. A first plugin of ours,
// innermost, so that it sees every attempt: each PUT waits for a slot of the pacer (GitHub counts
// retries as requests too), and plugin-retry stops once the deadline leaves no room for another.
function gitHubOctokit(options) {
    const stopRetriesAtDeadline = (octokit) => {
        octokit.hook.before('request', async (request) => {
            if (request.method === 'PUT')
                await options.pacer?.acquire();
        });
        octokit.hook.error('request', (error, request) => {
            // An answer too large to read comes from a wrong URL or a proxy, and would come again.
            const oversized = oversizedAnswerIn(error);
            if (options.now() + RETRY_ROOM_MS > options.deadline || (oversized !== undefined && oversized.status < 500))
                request.request.retries = 0;
            throw error;
        });
    };
    return dist_src/* Octokit */.E.plugin(stopRetriesAtDeadline, plugin_throttling_dist_bundle/* throttling */.A, dist_bundle/* retry */.L);
}
/** GitHub's secrets endpoints through Octokit; rate limits and transient failures retried within the deadline. */
function octokitSecretsApi(options) {
    const limits = rateLimitDecisions(options.now, options.deadline);
    const onLimit = (retryAfter, request, octokit, retryCount) => {
        const { method, url } = octokit.request.endpoint.parse(request);
        return limits.wait(retryAfter, requestKey(method, url), retryCount);
    };
    const scale = options.msPerSecondOfWait ?? 1000;
    const GitHubOctokit = gitHubOctokit(options);
    const octokit = new GitHubOctokit({
        auth: options.token,
        baseUrl: options.apiUrl,
        userAgent: options.userAgent,
        request: { fetch: confinedTo(options.apiUrl, options.fetch) },
        log: { debug: () => { }, info: () => { }, warn: () => { }, error: () => { } },
        throttle: { onRateLimit: onLimit, onSecondaryRateLimit: onLimit, retryAfterBaseValue: scale, write: UNPACED },
        retry: { retries: RETRIES, doNotRetry: NOT_RETRIED, retryAfterBaseValue: scale },
    });
    octokit.hook.before('request', (request) => {
        request.headers['x-github-api-version'] = GITHUB_API_VERSION;
    });
    // Outermost, so that no plugin retries it: a redirect is an answer, and never a success.
    octokit.hook.after('request', (response) => {
        const redirect = redirectIn(response);
        if (redirect !== undefined)
            throw redirect;
    });
    const call = async (action, hint, run) => {
        try {
            return await run();
        }
        catch (error) {
            throw gitHubError(error, action, hint, limits.refusedWait);
        }
    };
    return {
        getPublicKey(target) {
            const action = `reading the public key of ${(0,plan/* describeTarget */.ff)(target)}`;
            return call(action, permissionHint(target), async () => toPublicKey((await publicKeyRequest(octokit, target)).data));
        },
        async putSecret(write) {
            const action = `writing secret ${write.name} to ${(0,plan/* describeTarget */.ff)(write.target)}`;
            const response = await call(action, permissionHint(write.target), () => putRequest(octokit, write));
            return response.status === 201 ? 'created' : 'updated';
        },
        async repositoryId(owner, repo) {
            const action = `looking up repository ${owner}/${repo}`;
            const response = await call(action, 'Check secret-selected-repositories: each name must be a repository of the organization that github-token can see.', () => octokit.rest.repos.get({ owner, repo }));
            return response.data.id;
        },
    };
}
/**
 * The throttling plugin's write group, made a pass-through: by default it sends one write a
 * second, so 100 targets would take 100 s. Writes are paced by pacing.ts instead, within the
 * step's time.
 */
const UNPACED = {
    key: () => ({ schedule: (_job, task) => task() }),
};
function publicKeyRequest(octokit, target) {
    if (target.scope === 'environment') {
        return octokit.rest.actions.getEnvironmentPublicKey({
            owner: target.owner,
            repo: target.repo,
            environment_name: target.environment,
        });
    }
    if (target.scope === 'organization') {
        return target.type === 'dependabot'
            ? octokit.rest.dependabot.getOrgPublicKey({ org: target.org })
            : octokit.rest.actions.getOrgPublicKey({ org: target.org });
    }
    const repo = { owner: target.owner, repo: target.repo };
    return target.type === 'dependabot'
        ? octokit.rest.dependabot.getRepoPublicKey(repo)
        : octokit.rest.actions.getRepoPublicKey(repo);
}
function putRequest(octokit, write) {
    const { target, name: secret_name, encryptedValue: encrypted_value, keyId: key_id } = write;
    const value = { secret_name, encrypted_value, key_id };
    if (target.scope === 'environment') {
        return octokit.rest.actions.createOrUpdateEnvironmentSecret({
            owner: target.owner,
            repo: target.repo,
            environment_name: target.environment,
            ...value,
        });
    }
    if (target.scope === 'organization') {
        const access = {
            org: target.org,
            visibility: target.visibility,
            ...(write.selectedRepositoryIds ? { selected_repository_ids: write.selectedRepositoryIds } : {}),
        };
        return target.type === 'dependabot'
            ? octokit.rest.dependabot.createOrUpdateOrgSecret({ ...access, ...value })
            : octokit.rest.actions.createOrUpdateOrgSecret({ ...access, ...value });
    }
    const repo = { owner: target.owner, repo: target.repo };
    return target.type === 'dependabot'
        ? octokit.rest.dependabot.createOrUpdateRepoSecret({ ...repo, ...value })
        : octokit.rest.actions.createOrUpdateRepoSecret({ ...repo, ...value });
}
function toPublicKey(data) {
    return { keyId: data.key_id, key: data.key };
}

// EXTERNAL MODULE: ./src/github/pacing.ts
var pacing = __webpack_require__(9959);
// EXTERNAL MODULE: ./node_modules/libsodium-wrappers/dist/modules-esm/libsodium-wrappers.mjs + 1 modules
var libsodium_wrappers = __webpack_require__(4768);
;// CONCATENATED MODULE: ./src/github/seal.ts

/** Initialises libsodium (tens of milliseconds, so only when a secret is written). */
async function loadSeal() {
    await libsodium_wrappers/* default.ready */.Ay.ready;
    const base64 = libsodium_wrappers/* default.base64_variants */.Ay.base64_variants.ORIGINAL;
    return (value, publicKey) => libsodium_wrappers/* default.to_base64 */.Ay.to_base64(libsodium_wrappers/* default */.Ay.crypto_box_seal(libsodium_wrappers/* default.from_string */.Ay.from_string(value), libsodium_wrappers/* default.from_base64 */.Ay.from_base64(publicKey, base64)), base64);
}

;// CONCATENATED MODULE: ./src/github/server-clock.ts
/**
 * The least GitHub's clock can be ahead of ours, from one answer. `Date` has whole seconds, so when
 * GitHub sent it, its clock read at least that; we received it afterwards, so ours read at most
 * `receivedAt` then. Undefined without a readable `Date`.
 */
function offsetFloor(dateHeader, receivedAt) {
    if (dateHeader === undefined)
        return undefined;
    const serverTime = Date.parse(dateHeader);
    return Number.isNaN(serverTime) ? undefined : serverTime - receivedAt;
}
function watchServerClock(send, now) {
    let floor;
    return {
        async send(request) {
            const response = await send(request);
            const seen = offsetFloor(response.headers['date'], now());
            if (seen !== undefined)
                floor = floor === undefined ? seen : Math.max(floor, seen);
            return response;
        },
        offsetFloorMs: () => floor,
    };
}

;// CONCATENATED MODULE: ./src/github/load.ts
// Loaded with import() only when a secret is written: Octokit and libsodium stay off the path of
// every other run (ncc puts this module and what it imports in a separate chunk).






/**
 * From the start of delivery (while the key is being created) to the last write starting, waits
 * included: the main step ends within 30 s, and a failure then still has time to delete the key.
 * A fan-out of more than a minute's writes gets a minute more for each further minute's worth
 * (pacingAllowanceMs): the wait is GitHub's rule, known before the first request.
 */
const DELIVERY_BUDGET_MS = 20_000;
/** A fan-out this long logs how far it got, every this many targets. */
const PROGRESS_EVERY = 20;
/** Readies every target (public keys, repository ids) and libsodium, in parallel. */
async function prepareDelivery(plan, deps) {
    const allowance = (0,pacing/* pacingAllowanceMs */.XV)(plan.targets.length);
    if (allowance > 0) {
        deps.io.info(`Secret ${plan.name}: ${plan.targets.length} targets are more than GitHub's ${pacing/* GITHUB_WRITE_LIMITS */.Vt.perMinute} content-creating requests a minute, so writing them takes about ${Math.round(allowance / 60_000)} minute(s) more.`);
    }
    const deadline = deps.clock.now() + DELIVERY_BUDGET_MS + allowance;
    const pacer = (0,pacing/* writePacer */.vE)(deps.clock, deadline);
    const serverClock = watchServerClock(deps.send, deps.clock.now);
    const github = octokitSecretsApi({
        token: plan.token,
        apiUrl: plan.apiUrl,
        fetch: (0,http/* fetchOver */.hQ)(serverClock.send),
        now: deps.clock.now,
        deadline,
        userAgent: deps.userAgent,
        pacer,
    });
    const api = (0,deliver/* withPublicKeyCache */.Hg)(github);
    const [seal, prepared] = await Promise.all([loadSeal(), (0,deliver/* prepareTargets */.g4)(plan, api)]);
    const progress = (done, total) => {
        if (total > PROGRESS_EVERY && (done % PROGRESS_EVERY === 0 || done === total))
            deps.io.info(`Secret ${plan.name}: ${done} of ${total} targets done.`);
    };
    return {
        write: (value, watch) => (0,deliver/* writeToTargets */.t)(value, plan.name, prepared, api, seal, progress, watch),
        serverOffsetFloorMs: () => serverClock.offsetFloorMs(),
    };
}


/***/ })

};
