// Variant "bare": the bench handler, unwrapped.
import { benchHandler, plainCall } from "../app.js";

export default benchHandler(plainCall);
