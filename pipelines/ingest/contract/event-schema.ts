import { AGENT_STEP_OPERATIONS, AGENT_STEPS_SINCE, CONTRACT_VERSIONS, EVENT_FIELDS, type EventField } from './event-fields.js';

/** The newest contract version this build knows; newer events are loaded against it and reported. */
export const LATEST_SCHEMA_VERSION: number = Math.max(...Object.keys(CONTRACT_VERSIONS).map(Number));

/** The fields of a version (a newer, unknown version gets the latest's). */
export function fieldsOf(version: number): readonly EventField[] {
    const v = Math.min(version, LATEST_SCHEMA_VERSION);
    return EVENT_FIELDS.filter((f) => f.since <= v);
}

const plain = (markdown: string) => markdown.replaceAll('**', '').replaceAll('`', '');

/** The JSON Schema (draft 2020-12) of one contract version, as producers validate with it. */
export function eventJsonSchema(version: number): Record<string, unknown> {
    if (!CONTRACT_VERSIONS[version]) throw new Error(`contract version ${version} does not exist (known: ${Object.keys(CONTRACT_VERSIONS).join(', ')})`);
    const fields = fieldsOf(version);
    const steps = version >= AGENT_STEPS_SINCE;
    const modelCallFields = fields.filter((f) => f.required === 'model-calls').map((f) => f.name);
    return {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        $id: `https://tokenmart.dev/schemas/event.v${version}.schema.json`,
        title: `tokenmart LLM usage event, schema_version ${version}`,
        description:
            'One JSON object per model call (JSON Lines). Token counts follow the OpenTelemetry GenAI convention: input_tokens includes cache reads and ' +
            'cache writes, output_tokens includes reasoning tokens. Unknown extra fields are allowed and kept. ' +
            `Version ${version}: ${CONTRACT_VERSIONS[version]}.`,
        type: 'object',
        required: fields.filter((f) => f.required === true || (f.required && !steps)).map((f) => f.name),
        additionalProperties: true,
        properties: Object.fromEntries(fields.map((f) => [f.name, { ...f.schema, description: plain(f.description) }])),
        // An agent step calls no model: provider, model and tokens are required of model calls only.
        ...(steps && {
            if: { required: ['operation'], properties: { operation: { enum: AGENT_STEP_OPERATIONS } } },
            else: { required: modelCallFields },
        }),
    };
}
