import { basicSetup, EditorView } from "codemirror";
import { yCollab } from "y-codemirror.next";
import { connect, docId } from "../shared.js";

const { doc, provider } = await connect();
const text = doc.getText("codemirror");
provider.awareness.setLocalStateField("user", { name: `Guest ${doc.clientID % 1000}`, color: "#2f6fed" });
document.querySelector("#doc").textContent = docId;
provider.on("status", ({ status }) => (document.querySelector("#status").textContent = status));
new EditorView({ doc: text.toString(), extensions: [basicSetup, yCollab(text, provider.awareness)], parent: document.querySelector("#editor") });
