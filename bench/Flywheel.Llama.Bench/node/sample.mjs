// node-llama-cpp 3.22.1 used as a Node user would: one context with S sequences, K completions per prompt,
// as many completions in flight as there are sequences (node-llama-cpp batches them together).
// Usage: node sample.mjs MODEL PROMPTS.json K MAX_TOKENS SEQUENCES THREADS CONTEXT_PER_SEQUENCE
import {readFileSync} from "node:fs";
import {getLlama, LlamaCompletion} from "node-llama-cpp";

const [modelPath, promptsPath, k, maxTokens, sequences, threads, contextPerSequence] = process.argv.slice(2);
const prompts = JSON.parse(readFileSync(promptsPath, "utf8"));
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath});
const context = await model.createContext({sequences: Number(sequences), contextSize: Number(contextPerSequence) * Number(sequences), batchSize: 512, threads: Number(threads)});
const jobs = prompts.flatMap((prompt, p) => Array.from({length: Number(k)}, (_, c) => ({prompt, seed: p * 1000 + c})));
let next = 0, generated = 0;
const start = performance.now();
await Promise.all(Array.from({length: Number(sequences)}, async () => {
    const sequence = context.getSequence();
    const completion = new LlamaCompletion({contextSequence: sequence});
    while (next < jobs.length) {
        const job = jobs[next++];
        await completion.generateCompletion(job.prompt, {
            maxTokens: Number(maxTokens), temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, seed: job.seed,
            onToken: (tokens) => { generated += tokens.length; },
        });
        await sequence.clearHistory();
    }
}));
const seconds = (performance.now() - start) / 1000;
console.log(JSON.stringify({generated, seconds}));
