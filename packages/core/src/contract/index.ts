export * from './chat.js';
export * from './requests.js';
