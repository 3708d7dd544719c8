export const id = 720;
export const ids = [720];
export const modules = {

/***/ 3720:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  prepareDelivery: () => (/* binding */ prepareDelivery)
});

// EXTERNAL MODULE: ./src/shared/http.ts
var http = __webpack_require__(6489);
// EXTERNAL MODULE: ./src/shared/retry.ts
var retry = __webpack_require__(3091);
// EXTERNAL MODULE: ./src/github/deliver.ts + 1 modules
var deliver = __webpack_require__(5614);
// EXTERNAL MODULE: ./node_modules/@octokit/rest/dist-src/index.js + 22 modules
var dist_src = __webpack_require__(891);
// EXTERNAL MODULE: ./src/shared/errors.ts
var errors = __webpack_require__(8382);
// EXTERNAL MODULE: ./src/github/plan.ts
var plan = __webpack_require__(4496);
;// CONCATENATED MODULE: ./src/github/octokit.ts




/** Pinned: the secrets endpoints are checked under this version, and GHES knows it. */
const GITHUB_API_VERSION = '2022-11-28';
/** GitHub's secrets endpoints through Octokit, each call retried on transient failures. */
function octokitSecretsApi(options) {
    const octokit = new dist_src/* Octokit */.E({
        auth: options.token,
        baseUrl: options.apiUrl,
        userAgent: options.userAgent,
        request: { fetch: options.fetch },
        log: { debug: () => { }, info: () => { }, warn: () => { }, error: () => { } },
    });
    octokit.hook.before('request', (request) => {
        request.headers['x-github-api-version'] = GITHUB_API_VERSION;
    });
    const call = (action, hint, run) => (0,retry/* withRetry */.bD)(async () => {
        try {
            return await run();
        }
        catch (error) {
            throw gitHubError(error, action, hint, options.clock.now());
        }
    }, gitHubVerdict, options.policy, options.clock);
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
function publicKeyRequest(octokit, target) {
    if (target.scope === 'environment') {
        return octokit.rest.actions.getEnvironmentPublicKey({ owner: target.owner, repo: target.repo, environment_name: target.environment });
    }
    if (target.scope === 'organization') {
        return target.type === 'dependabot' ? octokit.rest.dependabot.getOrgPublicKey({ org: target.org }) : octokit.rest.actions.getOrgPublicKey({ org: target.org });
    }
    const repo = { owner: target.owner, repo: target.repo };
    return target.type === 'dependabot' ? octokit.rest.dependabot.getRepoPublicKey(repo) : octokit.rest.actions.getRepoPublicKey(repo);
}
function putRequest(octokit, write) {
    const { target, name: secret_name, encryptedValue: encrypted_value, keyId: key_id } = write;
    const value = { secret_name, encrypted_value, key_id };
    if (target.scope === 'environment') {
        return octokit.rest.actions.createOrUpdateEnvironmentSecret({ owner: target.owner, repo: target.repo, environment_name: target.environment, ...value });
    }
    if (target.scope === 'organization') {
        const access = { org: target.org, visibility: target.visibility, ...(write.selectedRepositoryIds ? { selected_repository_ids: write.selectedRepositoryIds } : {}) };
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
function gitHubError(error, action, permission, now) {
    if (!isRequestError(error))
        return error instanceof Error ? error : new Error(String(error));
    if (error.response === undefined)
        return new errors/* NetworkError */.Dr('GitHub', action, error.message, true);
    const headers = error.response.headers;
    const data = error.response.data;
    const message = typeof data === 'object' && data !== null && 'message' in data ? String(data.message) : error.message;
    const rateLimited = isRateLimit(error.status, message, headers);
    const retryAfterMs = rateLimited || error.status >= 500 ? rateLimitWait(headers, now) : undefined;
    return new errors/* ServiceError */._7({
        service: 'GitHub',
        action,
        status: error.status,
        message,
        requestId: headers['x-github-request-id'],
        hint: rateLimited ? 'GitHub is limiting requests; run the job again later.' : gitHubHint(error.status, permission),
        retryAfterSeconds: retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000),
    });
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
function isRateLimit(status, message, headers) {
    return status === 429 || (status === 403 && (/rate limit/i.test(message) || headers['x-ratelimit-remaining'] === '0'));
}
/** GitHub's wait: Retry-After, or the reset time of an exhausted primary limit. */
function rateLimitWait(headers, now) {
    const retryAfter = (0,retry/* parseRetryAfter */.mu)(headers['retry-after'], now);
    if (retryAfter !== undefined)
        return retryAfter;
    const reset = Number(headers['x-ratelimit-reset']);
    return headers['x-ratelimit-remaining'] === '0' && Number.isFinite(reset) ? Math.max(0, reset * 1000 - now) : undefined;
}
/** Retry no answer, 5xx, 429 and rate-limit 403s; every other 4xx is final. */
function gitHubVerdict(error) {
    if (error instanceof errors/* NetworkError */.Dr)
        return { retry: true };
    if (!(error instanceof errors/* ServiceError */._7))
        return { retry: false };
    const { status, message, retryAfterSeconds } = error.details;
    const transient = status >= 500 || isRateLimit(status, message, {});
    if (!transient)
        return { retry: false };
    return retryAfterSeconds === undefined ? { retry: true } : { retry: true, retryAfterMs: retryAfterSeconds * 1000 };
}
function isRequestError(error) {
    return error instanceof Error && typeof error.status === 'number';
}

// EXTERNAL MODULE: ./node_modules/libsodium-wrappers/dist/modules-esm/libsodium-wrappers.mjs + 1 modules
var libsodium_wrappers = __webpack_require__(4768);
;// CONCATENATED MODULE: ./src/github/seal.ts

/** Initialises libsodium (tens of milliseconds, so only when a secret is written). */
async function loadSeal() {
    await libsodium_wrappers/* default.ready */.Ay.ready;
    const base64 = libsodium_wrappers/* default.base64_variants */.Ay.base64_variants.ORIGINAL;
    return (value, publicKey) => libsodium_wrappers/* default.to_base64 */.Ay.to_base64(libsodium_wrappers/* default */.Ay.crypto_box_seal(libsodium_wrappers/* default.from_string */.Ay.from_string(value), libsodium_wrappers/* default.from_base64 */.Ay.from_base64(publicKey, base64)), base64);
}

;// CONCATENATED MODULE: ./src/github/load.ts
// Loaded with import() only when a secret is written: Octokit and libsodium stay off the path of
// every other run (ncc puts this module and what it imports in a separate chunk).





/** Readies every target (public keys, repository ids) and libsodium, in parallel. */
async function prepareDelivery(plan, deps) {
    const api = (0,deliver/* withPublicKeyCache */.Hg)(octokitSecretsApi({ token: plan.token, apiUrl: plan.apiUrl, fetch: (0,http/* fetchOver */.hQ)(deps.send), clock: deps.clock, policy: retry/* MAIN_POLICY */.hz, userAgent: deps.userAgent }));
    const [seal, prepared] = await Promise.all([loadSeal(), (0,deliver/* prepareTargets */.g4)(plan, api)]);
    return { write: (value) => (0,deliver/* writeToTargets */.t)(value, plan.name, prepared, api, seal) };
}


/***/ })

};
