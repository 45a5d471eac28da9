export * from './chat.js';
export * from './embeddings.js';
export * from './requests.js';
